"""Hostile input, as properties: every parser of bank data answers any input with credits or its own
error (CreditFormatError, MalformedBody, WebhookRejected), never with anything else."""

from __future__ import annotations

import json
import time

from hypothesis import given, note
from hypothesis import strategies as st

from devinfra.testing_files import SAMPLES
from reconciliation.adapters import statements, webhooks
from reconciliation.domain.credits import CreditFormatError

CAMT = (SAMPLES / "camt054-credits.xml").read_bytes()
MT940 = (SAMPLES / "mt940-statement.txt").read_bytes()
ACCOUNT = "0011001234567"
EXPECTED = (CreditFormatError,)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)


def _mutations(document: bytes) -> st.SearchStrategy[bytes]:
    """The document with a slice replaced by arbitrary bytes, or cut short, or a slice repeated."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        i = draw(st.integers(min_value=0, max_value=len(document)))
        j = draw(st.integers(min_value=i, max_value=min(len(document), i + 40)))
        kind = draw(st.sampled_from(["replace", "cut", "repeat"]))
        if kind == "cut":
            return document[:i]
        if kind == "repeat":
            return document[:j] + document[i:j] * draw(st.integers(1, 5)) + document[j:]
        return document[:i] + draw(st.binary(max_size=40)) + document[j:]

    return mutate()


def _parse(data: bytes, name: str = "sao-ke", layout: str | None = "vcb") -> None:
    try:
        statement = statements.parse_statement(name, data, account=ACCOUNT, layout=layout, mapping=None)
    except EXPECTED as exc:
        assert str(exc)
        return
    for credit in statement.credits:
        assert isinstance(credit.amount, int) and credit.amount > 0


@given(st.binary(max_size=2048))
def test_any_bytes_as_a_statement(data):
    _parse(data)


@given(_mutations(CAMT))
def test_a_damaged_camt_054(data):
    note(data)
    _parse(data, "ntf.xml")


@given(_mutations(MT940))
def test_a_damaged_mt940(data):
    note(data)
    _parse(data, "day.sta")


@given(st.lists(st.lists(st.text(max_size=25), max_size=8), max_size=15))
def test_any_csv_table_as_a_vcb_statement(rows):
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerows([["Ngày giao dịch", "Số tham chiếu", "Số tiền ghi có", "Mô tả"], *rows])
    _parse(out.getvalue().encode("utf-8", "surrogatepass"), "sao-ke.csv")


@given(st.binary(max_size=4096))
def test_any_bytes_as_a_webhook_body(raw):
    try:
        body = webhooks.parse_body(raw)
    except webhooks.MalformedBody as exc:
        assert str(exc)
        return
    assert isinstance(body, dict)


@given(
    st.sampled_from(sorted(webhooks.PROVIDERS)),
    st.dictionaries(st.text(max_size=20), json_values, max_size=12),
    st.dictionaries(
        st.sampled_from(["authorization", "x-casso-signature", "x-sepay-timestamp", "x-sepay-signature"]),
        st.text(max_size=60),
    ),
)
def test_any_json_body_and_headers_to_any_provider(provider, body, headers):
    raw = json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")
    handler = webhooks.PROVIDERS[provider]
    try:
        parsed = webhooks.parse_body(raw)
        handler.verify(headers, raw, parsed, "hmac", "secret-key-123")
    except (webhooks.MalformedBody, webhooks.WebhookRejected):
        return
    raise AssertionError("an unsigned body passed the signature check")


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "transactionDate",
                "accountNumber",
                "transferType",
                "transferAmount",
                "content",
                "referenceCode",
                "subAccount",
            ]
        ),
        json_values,
    )
)
def test_any_signed_sepay_body_gives_a_credit_or_a_reason(fields):
    raw = json.dumps(fields).encode("utf-8", "surrogatepass")
    try:
        body = webhooks.parse_body(raw)
        webhooks.verify_sepay({"authorization": "Apikey k"}, raw, scheme="apikey", secret="k", now=time.time())
        webhooks.PROVIDERS["sepay"].parse(body)
    except (webhooks.MalformedBody, CreditFormatError):
        return


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "amount",
                "transactionDateTime",
                "accountNumber",
                "description",
                "reference",
                "counterAccountName",
                "virtualAccountNumber",
                "id",
            ]
        ),
        json_values,
    )
)
def test_any_signed_casso_and_payos_data_gives_a_credit_or_a_reason(data):
    for provider in ("casso", "payos"):
        raw = json.dumps({"error": 0, "data": data}).encode("utf-8", "surrogatepass")
        try:
            body = webhooks.parse_body(raw)
            webhooks.PROVIDERS[provider].parse(body)
        except (webhooks.MalformedBody, CreditFormatError):
            continue


def test_a_camt_booking_date_that_is_not_a_date_is_named():
    # Found by the property above (make fuzz): a damaged <Dt> was a ValueError, a 500 at upload.
    broken = CAMT.replace(b"<BookgDt><Dt>2026-09-05</Dt>", b"<BookgDt><Dt>026-09-05</Dt>", 1)
    assert broken != CAMT
    try:
        statements.parse_statement("ntf.xml", broken, account=ACCOUNT, layout=None, mapping=None)
    except CreditFormatError as exc:
        assert "026-09-05" in str(exc)
    else:
        raise AssertionError("a broken booking date was accepted")
