"""structlog, configured once: JSON lines, UTC ISO timestamps, dotted event names, correlation ids.

Use `log = get_logger(__name__)` and `log.info("invoicing.invoice.issued", invoice_id=...)`.
The correlation id is bound with `bind_correlation_id` at an entrypoint (HTTP middleware, Kafka consumer)
and appears in every line logged while handling that request or event.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

_configured = False

# Pupils are children: no personal data in any log line. Fields with these names are never written.
PERSONAL_FIELDS = frozenset(
    {
        "full_name",
        "student_name",
        "guardian_name",
        "guardian_phone",
        "phone",
        "national_id",
        "payer_name",
        "payer_account",
        "memo",
        "date_of_birth",
    }
)
REDACTED = "[redacted]"
# In library messages: a run of 9 or more digits is an ID, a phone or an account number.
_LONG_DIGITS = re.compile(r"\d{9,}")


# A database error's DETAIL, as asyncpg writes it into the exception's text: the failing row ("Failing row
# contains (…)") or the key ("Key (…)=(…)"), names and memos included.
_DB_DETAIL = re.compile(r"^DETAIL:.*$", re.M)


def scrub_exception_text(text: str) -> str:
    return _DB_DETAIL.sub("DETAIL: " + REDACTED, text)


def scrub_exception(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """After the exception is formatted: no database error's DETAIL reaches a log line."""
    if isinstance(event.get("exception"), str):
        event["exception"] = scrub_exception_text(event["exception"])
    return event


def redact_personal_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in PERSONAL_FIELDS.intersection(event):
        event[key] = REDACTED
    return event


_base_factory = logging.getLogRecordFactory()


def _redacting_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Library log records carry what they parse: the MT940 parser logs every statement line (names,
    memos, accounts). Its records keep only their origin; every other library message loses its long digit
    runs. Done where records are made, so that no handler (ours, a test's, an operator's) ever sees them."""
    record = _base_factory(*args, **kwargs)
    if (record.name or "").startswith("mt940"):
        record.msg, record.args = "%s: statement content redacted", (record.name,)
        return record
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return record
    redacted = _LONG_DIGITS.sub(REDACTED, message)
    if redacted != message:
        record.msg, record.args = redacted, ()
    return record


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time of the write, not the stream it was when logging was configured
    (a test runner swaps and closes its capture streams; a closed one must not turn a log line into a crash)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


# Marks the handler `configure_logging` puts on the root logger (configured again: replaced, never doubled).
_HANDLER_NAME = "tuition-json"


def add_trace_ids(_: object, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """The current span's trace and span ids (shared/tracing.py), so that a line leads to its trace."""
    from shared import tracing

    event.update(tracing.ids())
    return event


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """structlog for our own lines; the standard library's records (uvicorn, aiokafka, asyncpg) go through the
    same processors, so every line on stderr is one JSON object with its level, UTC time and correlation id."""
    global _configured
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    common: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        redact_personal_fields,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *common,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            scrub_exception,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(cast(TextIO, _CurrentStderr()))
    handler.name = _HANDLER_NAME
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*common, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                scrub_exception,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if h.name != _HANDLER_NAME] + [handler]
    # Libraries are quiet below WARNING; the server's own start and stop lines are kept.
    root.setLevel(max(numeric, logging.WARNING))
    # Uvicorn started with its own logging config (`uvicorn module:app`) gave its loggers their own handlers.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.error").setLevel(numeric)
    logging.setLogRecordFactory(_redacting_record_factory)
    _configured = True


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    if not _configured:
        configure_logging()
    return structlog.get_logger(name)  # type: ignore[no-any-return]


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def bind_correlation_id(correlation_id: str | None) -> str:
    cid = correlation_id or new_correlation_id()
    structlog.contextvars.bind_contextvars(correlation_id=cid)
    return cid


def current_correlation_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("correlation_id")


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()
