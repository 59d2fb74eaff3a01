"""No personal data in any log line: not in the suite's own fields, not in what libraries log."""

from __future__ import annotations

import logging

from devinfra.testing_files import SAMPLES
from reconciliation.adapters import statements
from shared.logging import configure_logging, get_logger

SAMPLE = SAMPLES / "mt940-statement.txt"


def test_the_mt940_parser_logs_no_statement_line_even_at_debug(caplog):
    configure_logging("DEBUG", json=True)
    with caplog.at_level(logging.DEBUG):
        statements.parse_mt940(SAMPLE.read_bytes())
    err = "\n".join(r.getMessage() for r in caplog.records)
    assert "statement content redacted" in err  # the parser did log, at debug
    for personal in ("NGUYEN VAN HUNG", "NGUYEN NGOC BAO ANH", "TRAN DUC MINH", "0011001234567", "19033344455566"):
        assert personal not in err


def test_personal_fields_never_reach_a_log_line(capfd, caplog):
    configure_logging("INFO", json=True)
    get_logger("test").warning(
        "invoicing.roster.row_refused", guardian_phone="0912345678", national_id="001206012345", line=7
    )
    logging.getLogger("some.library").warning("lookup of 001206012345 failed")
    err = capfd.readouterr().err + "\n".join(r.getMessage() for r in caplog.records)
    assert "0912345678" not in err and "001206012345" not in err
    assert '"line": 7' in err and "[redacted]" in err


def test_a_database_errors_failing_row_never_reaches_a_log_line(capfd):
    import asyncpg

    configure_logging("INFO", json=True)
    failed = asyncpg.exceptions.CheckViolationError.new(
        {
            "S": "ERROR",
            "C": "23514",
            "M": 'new row for relation "credits" violates check constraint "credits_check"',
            "D": "Failing row contains (1460000, HP7K2QX9 NGUYEN NGOC BAO ANH, NGUYEN VAN HUNG).",
        }
    )
    assert "NGUYEN VAN HUNG" in str(failed)  # asyncpg writes the DETAIL into the exception's text
    try:
        raise failed
    except asyncpg.PostgresError:
        get_logger("test").exception("reconciliation.action.failed")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    err = capfd.readouterr().err
    assert err.count("credits_check") == 2
    assert "NGUYEN" not in err and "HP7K2QX9" not in err and "DETAIL: [redacted]" in err
