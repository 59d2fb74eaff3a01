"""The outside formats, read from the real samples in tests/samples."""

import json
import time
from datetime import date

import pytest

from devinfra.testing_files import SAMPLES
from reconciliation.adapters import statements, webhooks
from reconciliation.domain.credits import CreditFormatError


def _json(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def test_the_sepay_sample_is_a_credit_in_local_time():
    c = webhooks.parse_sepay(_json("webhook-sepay.json"))
    assert (c.amount, c.account_number, c.value_date) == (1_250_000, "0011001234567", date(2026, 9, 5))
    assert c.booked_at.hour == 7  # 14:02 in Hà Nội is 07:02 UTC
    assert c.identifiers == ("sepay:92704", "MBVCB.3278907687")


def test_a_sepay_debit_is_not_a_credit():
    body = _json("webhook-sepay.json") | {"transferType": "out"}
    assert webhooks.parse_sepay(body) is None


def test_the_casso_sample_parses_and_its_signature_round_trips():
    body = _json("webhook-casso-v2.json")
    c = webhooks.parse_casso(body)
    assert (c.amount, c.identifiers, c.payer_account) == (375_000, ("FT26248001937",), "8888888888")
    t = str(int(time.time() * 1000))
    sig = webhooks.casso_signature("k" * 16, t, body)
    webhooks.verify_casso({"x-casso-signature": f"t={t},v1={sig}"}, body, secret="k" * 16)
    with pytest.raises(webhooks.WebhookRejected, match="timestamp"):
        old = str(int((time.time() - 3600) * 1000))
        webhooks.verify_casso(
            {"x-casso-signature": f"t={old},v1={webhooks.casso_signature('k' * 16, old, body)}"}, body, secret="k" * 16
        )


def test_the_payos_sample_verifies_with_the_vendors_test_key_and_fails_when_tampered():
    body = _json("webhook-payos.json")
    webhooks.verify_payos(body, secret="test_checksum_key")
    credit = webhooks.parse_payos(body)
    assert credit is not None and credit.identifiers == ("FT-REFERENCE", "payos-link:payment-link-id")
    body["data"]["amount"] = 20001
    with pytest.raises(webhooks.WebhookRejected, match="signature"):
        webhooks.verify_payos(body, secret="test_checksum_key")


def test_sepay_hmac_scheme_refuses_a_stale_timestamp():
    raw = b'{"id":1}'
    ts = str(int(time.time()) - 600)
    sig = webhooks.hmac.new(b"secret-key", ts.encode() + b"." + raw, webhooks.hashlib.sha256).hexdigest()
    with pytest.raises(webhooks.WebhookRejected) as refused:
        webhooks.verify_sepay(
            {"x-sepay-timestamp": ts, "x-sepay-signature": sig}, raw, scheme="hmac", secret="secret-key"
        )
    # The caller is told nothing of the scheme; the log gets the cause.
    assert str(refused.value) == webhooks.SEPAY_REFUSED and "600 s off" in refused.value.reason


def test_the_camt054_sample_gives_two_credits_with_every_bank_identifier():
    data = (SAMPLES / "camt054-credits.xml").read_bytes()
    st = statements.parse_camt(data, statements.detect_format("x.xml", data))
    assert st.format == "camt054" and st.account_number == "0011001234567"
    first, second = st.credits
    assert (first.amount, first.payer_name, first.payer_account) == (1_250_000, "NGUYEN VAN HUNG", "19033344455566")
    assert first.identifiers == ("FT26248001937", "5248IBT1kJ2KQX7H", "248IBT1KJ2KQX7H")  # NOTPROVIDED dropped
    assert "HP7K2QX9" in first.memo and second.amount == 375_000


def test_the_mt940_sample_leaves_out_the_fee_debit_and_its_balances_add_up():
    data = (SAMPLES / "mt940-statement.txt").read_bytes()
    assert statements.detect_format("x.txt", data) == "mt940"
    st = statements.parse_mt940(data)
    assert [c.amount for c in st.credits] == [1_250_000, 375_000]
    assert st.credits[0].identifiers == ("FT26248001937", "5248IBT1KJ2KQX7H")
    assert "19033344455566" in st.credits[0].memo.replace("\n", "")


def test_a_vcb_csv_export_is_read_with_its_documented_layout():
    csv_text = (
        "STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả\n"
        "1,05/09/2026 14:02:37,FT26248001937,,1.250.000,153.550.000,MBVCB.3278907687.HP HOC PHI\n"
        "2,05/09/2026 15:00:00,FT26248009999,50.000,,153.500.000,PHI SMS\n"
    )
    st = statements.parse_bank_table(csv_text.encode(), account_number="001", mapping=statements.LAYOUTS["vcb"])
    assert [(c.amount, c.identifiers) for c in st.credits] == [(1_250_000, ("FT26248001937",))]


def test_a_broken_csv_row_is_named_by_its_line():
    csv_text = "Ngày giao dịch,Số tiền ghi có,Mô tả\n05/09/2026 14:02:37,abc,X\n"
    with pytest.raises(CreditFormatError, match="dòng 2"):
        statements.parse_bank_table(
            csv_text.encode(), account_number="1", mapping=statements.LAYOUTS["vcb"] | {"reference": "none"}
        )


def test_the_mt940_sample_states_the_days_closing_balance():
    st = statements.parse_mt940((SAMPLES / "mt940-statement.txt").read_bytes())
    assert st.closing == statements.Closing(date(2026, 9, 5), 153_875_000)


def _camt053(balances: str) -> bytes:
    """The camt.054 sample as the day's camt.053 statement (same account and entries) with these balances."""
    text = (SAMPLES / "camt054-credits.xml").read_text(encoding="utf-8")
    text = text.replace("camt.054.001.08", "camt.053.001.08").replace("BkToCstmrDbtCdtNtfctn", "BkToCstmrStmt")
    text = text.replace("<Ntfctn>", "<Stmt>").replace("</Ntfctn>", "</Stmt>")
    return text.replace("</Acct>", "</Acct>" + balances, 1).encode()


def test_a_camt053_statement_gives_its_closing_booked_balance_and_a_debit_balance_is_negative():
    bal = (
        '<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="VND">{amount}</Amt>'
        "<CdtDbtInd>{side}</CdtDbtInd><Dt><Dt>2026-09-05</Dt></Dt></Bal>"
    )
    data = _camt053(
        bal.format(code="OPBD", amount=100, side="CRDT") + bal.format(code="CLBD", amount=153_875_000, side="CRDT")
    )
    st = statements.parse_camt(data, statements.detect_format("x.xml", data))
    assert st.format == "camt053" and len(st.credits) == 2
    assert st.closing == statements.Closing(date(2026, 9, 5), 153_875_000)
    overdrawn = _camt053(bal.format(code="CLBD", amount=5_000, side="DBIT"))
    assert statements.parse_camt(overdrawn, "camt053").closing == statements.Closing(date(2026, 9, 5), -5_000)
    assert statements.parse_camt(_camt053(""), "camt053").closing is None


def test_student_codes_of_letters_and_digits_are_read_from_memos_whatever_the_bank_did():
    from reconciliation.domain.memo import read_memo

    for memo in (
        "MBVCB.3349876543.NT260004 NGUYEN VAN AN.CT tu 0011 NGUYEN",
        "IBFT hp nt 260004 lop 2a",  # split by the payer, lower case
        "123456.050926.101010.NOP TIEN AN CHO CON NT260004-050926-10:10:10 558899",
    ):
        assert "NT260004" in read_memo(memo).numbers, memo
    assert "HS2026A015" in read_memo("CT nhanh 247 den: hoc phi HS2026A015").numbers
