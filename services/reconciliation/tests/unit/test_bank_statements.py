"""Statement files as banks really send them (issue 28 §1): reversals, several statements in one file, notice
lines of zero, structured references, batches of equal payments, refusals in Vietnamese naming line and field."""

from __future__ import annotations

from datetime import date

import pytest

from devinfra.testing_files import SAMPLES
from reconciliation.adapters import statements
from reconciliation.domain.credits import CreditFormatError

ACCOUNT = "0011001234567"


def _mt940(lines: list[str], *, opening: int, closing: int, day: str = "260905", ccy: str = "VND") -> str:
    return "\n".join(
        [
            f":20:STMT{day}",
            f":25:970436/{ACCOUNT}",
            ":28C:1/1",
            f":60F:C{day}{ccy}{opening},",
            *lines,
            f":62F:C{day}{ccy}{closing},",
        ]
    )


CREDIT = ":61:2609050905C1250000,NTRFFT26248001937//5248IBT1KJ2KQX7H\n:86:HP7K2QX9 NGUYEN NGOC BAO ANH"
REVERSAL = ":61:2609050905RC1250000,NTRFFT26248001937//5248IBT1KJ2KQX7H\n:86:HOAN TRA GIAO DICH LOI"


def test_a_reversal_of_a_credit_is_no_credit_and_counts_against_the_balance():
    text = _mt940([CREDIT, REVERSAL], opening=100_000_000, closing=100_000_000)
    st = statements.parse_mt940(text.encode())
    assert [c.amount for c in st.credits] == [1_250_000]
    [rev] = st.reversals
    assert (rev.amount, rev.identifiers, rev.value_date) == (
        1_250_000,
        ("FT26248001937", "5248IBT1KJ2KQX7H"),
        date(2026, 9, 5),
    )
    assert "dòng 7" in rev.where


def test_a_closing_balance_that_counts_a_reversal_as_money_in_is_refused():
    # Read with the library's default sign, this file balanced, and the reversal became a second credit.
    text = _mt940([CREDIT, REVERSAL], opening=100_000_000, closing=102_500_000)
    with pytest.raises(CreditFormatError, match="số dư không khớp"):
        statements.parse_mt940(text.encode())


def test_each_statement_of_a_file_is_checked_against_its_own_balances():
    day1 = _mt940([CREDIT], opening=100_000_000, closing=101_250_000)
    day2 = _mt940(
        [":61:2609060906C375000,NTRFFT26249000001//X1\n:86:TRAN DUC MINH 5A1"],
        opening=101_250_000,
        closing=101_625_000,
        day="260906",
    )
    st = statements.parse_mt940(f"{day1}\n{day2}\n".encode())
    assert [c.amount for c in st.credits] == [1_250_000, 375_000]
    assert st.closing == statements.Closing(date(2026, 9, 6), 101_625_000)
    broken = day2.replace(":62F:C260906VND101625000,", ":62F:C260906VND101625001,")
    with pytest.raises(CreditFormatError, match="bảng kê ở dòng 8: số dư không khớp"):
        statements.parse_mt940(f"{day1}\n{broken}\n".encode())


def test_a_file_in_swift_blocks_is_read():
    text = "{1:F01BFTVVNVXAXXX0000000000}{2:O9401200260905BFTVVNVXAXXXN}{4:\n"
    text += _mt940([CREDIT], opening=100_000_000, closing=101_250_000) + "\n-}"
    assert [c.amount for c in statements.parse_mt940(text.encode()).credits] == [1_250_000]


def test_a_zero_amount_notice_line_is_skipped_with_a_note_not_refused():
    notice = ":61:2609050905C0,00NMSCNONREF\n:86:THONG BAO SO DU"
    st = statements.parse_mt940(_mt940([notice, CREDIT], opening=0, closing=1_250_000).encode())
    assert [c.amount for c in st.credits] == [1_250_000]
    assert st.notes == ["MT940 dòng 5 (:61:): số tiền 0 (dòng thông báo), bỏ qua"]


def test_a_foreign_currency_file_is_refused_for_its_currency_not_its_cents():
    text = _mt940([":61:2609050905C12,50NTRFX//Y\n:86:EUR"], opening=0, closing=0, ccy="EUR")
    with pytest.raises(CreditFormatError) as err:
        statements.parse_mt940(text.encode())
    assert "tiền tệ EUR, không phải VND" in str(err.value) and "phần lẻ" not in str(err.value)


def test_a_malformed_line_is_named_by_its_line_and_tag_without_library_objects():
    text = _mt940([CREDIT.replace(":61:260905", ":61:2609XX")], opening=0, closing=1_250_000)
    with pytest.raises(CreditFormatError) as err:
        statements.parse_mt940(text.encode())
    assert str(err.value) == "MT940 dòng 5 (:61:): không đúng định dạng của thẻ này"


def _camt(entries: str, kind: str = "camt.054.001.08", balances: str = "") -> bytes:
    root, block = ("BkToCstmrDbtCdtNtfctn", "Ntfctn") if "054" in kind else ("BkToCstmrStmt", "Stmt")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{kind}"><{root}><GrpHdr><MsgId>M1</MsgId></GrpHdr>
<{block}><Id>S1</Id><Acct><Id><Othr><Id>{ACCOUNT}</Id></Othr></Id></Acct>{balances}
{entries}
</{block}></{root}></Document>""".encode()


def _entry(body: str, amount: int = 1_250_000, side: str = "CRDT", extra: str = "") -> str:
    return f"""<Ntry><NtryRef>FT1</NtryRef><Amt Ccy="VND">{amount}</Amt><CdtDbtInd>{side}</CdtDbtInd>{extra}
<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-09-05</Dt></BookgDt><AcctSvcrRef>5248IBT</AcctSvcrRef>{body}</Ntry>"""


def test_camt_structured_references_and_additional_texts_reach_the_memo_and_the_payers_iban_is_read():
    tx = """<NtryDtls><TxDtls><Refs><TxId>248IBT1</TxId></Refs>
      <RltdPties><DbtrAcct><Id><IBAN>VN12BFTV0011001234567890</IBAN></Id></DbtrAcct></RltdPties>
      <RmtInf><Ustrd>NOP TIEN</Ustrd><Strd><CdtrRefInf><Ref>HP7K2QX9</Ref></CdtrRefInf></Strd></RmtInf>
      <AddtlTxInf>LOP 5A1</AddtlTxInf></TxDtls></NtryDtls><AddtlNtryInf>IBFT NGUYEN VAN HUNG</AddtlNtryInf>"""
    [c] = statements.parse_camt(_camt(_entry(tx)), "camt054").credits
    assert c.memo == "NOP TIEN HP7K2QX9 LOP 5A1 IBFT NGUYEN VAN HUNG"
    assert c.payer_account == "VN12BFTV0011001234567890"


def test_two_equal_payments_of_one_batch_are_two_credits_with_identifiers_that_cannot_collide():
    def tx(memo: str, refs: str) -> str:
        return f'<TxDtls><Refs>{refs}</Refs><Amt Ccy="VND">500000</Amt><RmtInf><Ustrd>{memo}</Ustrd></RmtInf></TxDtls>'

    for refs in ("", "<AcctSvcrRef>5248IBT</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId>"):
        body = f"<NtryDtls>{tx('HOC PHI A', refs)}{tx('HOC PHI B', refs)}</NtryDtls>"
        first, second = statements.parse_camt(_camt(_entry(body, amount=1_000_000)), "camt054").credits
        assert first.amount == second.amount == 500_000
        assert first.identifiers and second.identifiers
        assert not set(first.identifiers) & set(second.identifiers), refs


def test_a_camt_debit_marked_as_a_reversal_reverses_a_credit_and_a_zero_entry_is_a_note():
    reversal = _entry("", side="DBIT", extra="<RvslInd>true</RvslInd>")
    st = statements.parse_camt(_camt(reversal + _entry("", amount=0)), "camt054")
    assert st.credits == [] and [(r.amount, r.identifiers) for r in st.reversals] == [(1_250_000, ("FT1", "5248IBT"))]
    assert len(st.notes) == 1 and "số tiền 0" in st.notes[0]


def test_a_camt_closing_balance_in_another_currency_is_refused_by_name():
    bal = (
        '<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10.50</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-09-05</Dt></Dt></Bal>"
    )
    data = _camt(_entry(""), kind="camt.053.001.08", balances=bal)
    where = r"số dư cuối ngày \(Bal CLBD\) \(dòng 3\), Amt \(dòng 3\)"
    with pytest.raises(CreditFormatError, match=where + ": tiền tệ EUR, không phải VND"):
        statements.parse_camt(data, "camt053")


def test_a_camt_amount_with_cents_is_named_by_its_line_in_vietnamese():
    data = (SAMPLES / "camt054-credits.xml").read_bytes().replace(b">375000<", b">375000.5<", 1)
    with pytest.raises(CreditFormatError) as err:
        statements.parse_camt(data, "camt054")
    assert "camt054, Ntry 2 (dòng 40), Amt (dòng 42): số tiền 375000.5 có phần lẻ của đồng" in str(err.value)
