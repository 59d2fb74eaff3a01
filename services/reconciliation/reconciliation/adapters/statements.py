"""Bank statements uploaded by the accountant: ISO 20022 camt.053 / camt.054, SWIFT MT940, CSV/Excel.

Each parser returns the statement's credits (debits are left out) or raises CreditFormatError naming the
entry and field that is wrong; a statement with one broken entry is refused whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import mt940
from lxml import etree

from reconciliation.domain.credits import BankCredit, CreditFormatError, whole_dong
from shared.formatting import VN
from shared.payref import fold_memo
from shared.spreadsheets import Bounds, SpreadsheetError, csv_rows, xlsx_rows


@dataclass(frozen=True)
class Closing:
    """The bank's booked balance at the end of a statement's day (camt.053 CLBD, MT940 :62F:)."""

    day: date
    balance: int


@dataclass(frozen=True)
class Statement:
    format: str
    account_number: str | None
    credits: list[BankCredit]
    closing: Closing | None = None


def detect_format(filename: str, data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"<"):
        m = re.search(rb"urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])", head)
        if not m:
            raise CreditFormatError("an XML file that is not camt.053 or camt.054")
        return m.group(1).decode().replace(".", "")
    if re.search(rb"^:20:", head, re.M) and b":61:" in data:
        return "mt940"
    if filename.lower().endswith(".xlsx") or head[:2] == b"PK":
        return "xlsx"
    return "csv"


# --- camt.053 / camt.054 ----------------------------------------------------------------------------------


def _text(el: Any, path: str, ns: dict[str, str]) -> str:
    found = el.find(path, ns)
    return found.text.strip() if found is not None and found.text else ""


def _camt_time(entry: Any, ns: dict[str, str]) -> datetime:
    dt = _text(entry, "c:BookgDt/c:DtTm", ns) or _text(entry, "c:ValDt/c:DtTm", ns)
    d = _text(entry, "c:BookgDt/c:Dt", ns) or _text(entry, "c:ValDt/c:Dt", ns)
    if not dt and not d:
        raise CreditFormatError("entry has no booking date (BookgDt)")
    try:
        if dt:
            parsed = datetime.fromisoformat(dt)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=VN)).astimezone(UTC)
        # A date alone: noon local time, so that the local date is the booking date in every zone conversion.
        return datetime.fromisoformat(d + "T12:00:00").replace(tzinfo=VN).astimezone(UTC)
    except ValueError as exc:
        raise CreditFormatError(f"booking date {(dt or d)[:40]!r} is not an ISO date: {exc}") from exc


def parse_camt(data: bytes, kind: str) -> Statement:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise CreditFormatError(f"not well-formed XML: {exc}") from exc
    ns = {"c": root.nsmap.get(None) or ""}
    block = "c:BkToCstmrStmt/c:Stmt" if kind == "camt053" else "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn"
    credits: list[BankCredit] = []
    account = None
    for report in root.findall(block, ns):
        account = _text(report, "c:Acct/c:Id/c:Othr/c:Id", ns) or _text(report, "c:Acct/c:Id/c:IBAN", ns)
        if not account:
            raise CreditFormatError(f"{kind}: account (Acct/Id) is missing")
        for n, entry in enumerate(report.findall("c:Ntry", ns), start=1):
            if _text(entry, "c:CdtDbtInd", ns) != "CRDT":
                continue
            status = _text(entry, "c:Sts/c:Cd", ns) or _text(entry, "c:Sts", ns)
            if status and status != "BOOK":
                continue  # pending or informational entries are not money yet
            try:
                credits += _camt_entry(entry, ns, account, kind)
            except CreditFormatError as exc:
                raise CreditFormatError(f"{kind} entry {n}: {exc}") from exc
    closing = _camt_closing(root.findall(block, ns)[-1], ns) if kind == "camt053" and account else None
    return Statement(kind, account, credits, closing)


def _camt_amount(el: Any, path: str, ns: dict[str, str], what: str) -> int:
    amt = el.find(path, ns)
    if amt is None or not amt.text:
        raise CreditFormatError(f"{what} is missing")
    if amt.get("Ccy", "VND") != "VND":
        raise CreditFormatError(f"{what}: currency {amt.get('Ccy')} is not VND")
    return whole_dong(amt.text, what)


def _camt_entry(entry: Any, ns: dict[str, str], account: str, kind: str) -> list[BankCredit]:
    """The entry's credits: one per transaction of a batch entry (each with its own amount, memo, payer and
    references), or the entry itself."""
    amount = _camt_amount(entry, "c:Amt", ns, "Amt")
    booked = _camt_time(entry, ns)
    entry_ids = [_text(entry, "c:NtryRef", ns), _text(entry, "c:AcctSvcrRef", ns)]
    txs = entry.findall("c:NtryDtls/c:TxDtls", ns)
    if len(txs) <= 1:
        tx = _camt_tx(txs[0], ns, account) if txs else {}
        memo = tx.get("memo") or _text(entry, "c:AddtlNtryInf", ns)
        return [_credit(account, amount, booked, kind, entry_ids + tx.get("ids", []), tx | {"memo": memo})]
    credits = []
    for i, el in enumerate(txs, start=1):
        tx = _camt_tx(el, ns, account)
        path = "c:Amt" if el.find("c:Amt", ns) is not None else "c:AmtDtls/c:TxAmt/c:Amt"
        tx_amount = _camt_amount(el, path, ns, f"transaction {i} amount")
        # The batch's own references are shared by its transactions: each gets them numbered.
        ids = tx["ids"] or [f"{r}#{i}" for r in entry_ids if r]
        credits.append(_credit(account, tx_amount, booked, kind, ids, tx))
    if sum(c.amount for c in credits) != amount:
        raise CreditFormatError(
            f"batch of {len(txs)} transactions adds up to {sum(c.amount for c in credits)}, the entry says {amount}"
        )
    return credits


def _camt_tx(tx: Any, ns: dict[str, str], account: str) -> dict[str, Any]:
    """What one TxDtls says: references, memo, payer, and the virtual account credited (when the bank
    names a creditor account other than the statement's)."""
    credited = _text(tx, "c:RltdPties/c:CdtrAcct/c:Id/c:Othr/c:Id", ns)
    return {
        "ids": [
            _text(tx, "c:Refs/c:TxId", ns),
            _text(tx, "c:Refs/c:AcctSvcrRef", ns),
            _text(tx, "c:Refs/c:EndToEndId", ns),
        ],
        "memo": " ".join(u.text.strip() for u in tx.findall("c:RmtInf/c:Ustrd", ns) if u.text),
        "payer": _text(tx, "c:RltdPties/c:Dbtr/c:Pty/c:Nm", ns) or _text(tx, "c:RltdPties/c:Dbtr/c:Nm", ns),
        "payer_account": _text(tx, "c:RltdPties/c:DbtrAcct/c:Id/c:Othr/c:Id", ns),
        "virtual_account": credited if credited and credited != account else "",
    }


def _credit(account: str, amount: int, booked: datetime, kind: str, ids: list[str], tx: dict[str, Any]) -> BankCredit:
    return BankCredit(
        account_number=account,
        amount=amount,
        booked_at=booked,
        memo=tx.get("memo", ""),
        source_kind=kind,
        identifiers=tuple(dict.fromkeys(i for i in ids if i and i.upper() != "NOTPROVIDED")),
        payer_name=tx.get("payer", ""),
        payer_account=tx.get("payer_account", ""),
        virtual_account=tx.get("virtual_account", ""),
    )


def _camt_closing(report: Any, ns: dict[str, str]) -> Closing | None:
    for bal in report.findall("c:Bal", ns):
        if _text(bal, "c:Tp/c:CdOrPrtry/c:Cd", ns) != "CLBD":
            continue
        amount = whole_dong(_text(bal, "c:Amt", ns), "Bal CLBD Amt")
        day = _text(bal, "c:Dt/c:Dt", ns) or _text(bal, "c:Dt/c:DtTm", ns)[:10]
        try:
            return Closing(date.fromisoformat(day), -amount if _text(bal, "c:CdtDbtInd", ns) == "DBIT" else amount)
        except ValueError as exc:
            raise CreditFormatError(f"Bal CLBD: date {day!r} is not a date") from exc
    return None


# --- MT940 --------------------------------------------------------------------------------------------


def parse_mt940(data: bytes) -> Statement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(text)
    except Exception as exc:  # the library raises several types for malformed input
        raise CreditFormatError(f"MT940 could not be read: {exc}") from exc
    ident = str(transactions.data.get("account_identification") or "")
    if not ident:
        raise CreditFormatError("MT940: :25: account identification is missing")
    account = ident.split("/")[-1].strip()
    total_in = total_out = 0
    credits = []
    for n, tr in enumerate(transactions, start=1):
        d = tr.data
        amount = whole_dong(d["amount"].amount, f"MT940 :61: #{n} amount")
        if d.get("currency") and d["currency"] != "VND":
            raise CreditFormatError(f"MT940 :61: #{n}: currency {d['currency']} is not VND")
        if amount < 0:
            total_out += -amount
            continue
        total_in += amount
        day = d.get("entry_date") or d["date"]
        booked = datetime(day.year, day.month, day.day, 12, tzinfo=VN).astimezone(UTC)
        ids = tuple(
            dict.fromkeys(
                r for r in (d.get("customer_reference"), d.get("bank_reference")) if r and r.upper() != "NONREF"
            )
        )
        memo = (d.get("transaction_details") or "").strip()
        credits.append(
            BankCredit(
                account_number=account, amount=amount, booked_at=booked, memo=memo, source_kind="mt940", identifiers=ids
            )
        )
    opening, closing = transactions.data.get("final_opening_balance"), transactions.data.get("final_closing_balance")
    if opening is not None and closing is not None:
        moved = whole_dong(closing.amount.amount, ":62F:") - whole_dong(opening.amount.amount, ":60F:")
        if moved != total_in - total_out:
            raise CreditFormatError(
                f"MT940 balances do not add up: :62F: − :60F: = {moved}, entries = {total_in - total_out}"
            )
    end = None
    if closing is not None:
        day = closing.date
        end = Closing(date(day.year, day.month, day.day), whole_dong(closing.amount.amount, ":62F:"))
    return Statement("mt940", account, credits, end)


# --- CSV / Excel exports of internet banking -----------------------------------------------------------

# The documented layout: Vietcombank VCB Digibiz "Sao kê tài khoản" export (other banks: give a mapping).
# A mapping names the columns of `date`, `credit` and `memo`, and optionally `reference`, `payer`,
# `payer_account` and `virtual_account` (the school's sub-account a collection-by-virtual-account bank
# credited), and `date_format`.
LAYOUTS: dict[str, dict[str, str]] = {
    "vcb": {
        "date": "Ngày giao dịch",
        "reference": "Số tham chiếu",
        "credit": "Số tiền ghi có",
        "memo": "Mô tả",
        "date_format": "%d/%m/%Y %H:%M:%S",
    },
}
# The same export from an account that collects through virtual accounts (one per pupil or class).
LAYOUTS["vcb_virtual"] = LAYOUTS["vcb"] | {"virtual_account": "Tài khoản ảo"}


# A school's month of statement lines, with room to spare.
BOUNDS = Bounds(max_rows=200_000, max_cols=64)


def _xlsx_cell(v: object) -> str:
    if v is None:
        return ""
    return v.strftime("%d/%m/%Y %H:%M:%S") if hasattr(v, "strftime") else str(v)  # type: ignore[attr-defined]


def _table(data: bytes, xlsx: bool) -> list[list[str]]:
    try:
        if xlsx:
            return [row for _, row in xlsx_rows(data, BOUNDS, _xlsx_cell)]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CreditFormatError("the CSV is not UTF-8") from exc
        return [row for _, row in csv_rows(text, BOUNDS)]
    except SpreadsheetError as exc:
        raise CreditFormatError(str(exc)) from exc


def _is_total(row: list[str]) -> bool:
    return any(fold_memo(c).strip().startswith(("TONG", "CONG")) for c in row if c.strip())


def parse_bank_table(data: bytes, *, account_number: str, mapping: dict[str, str], xlsx: bool = False) -> Statement:
    for key in ("date", "credit", "memo"):
        if key not in mapping:
            raise CreditFormatError(f"column mapping needs '{key}'")
    table = _table(data, xlsx)
    header_at = next((i for i, row in enumerate(table) if mapping["credit"] in [c.strip() for c in row]), None)
    if header_at is None:
        raise CreditFormatError(f"no header row with a column {mapping['credit']!r}")
    header = [c.strip() for c in table[header_at]]
    missing = [mapping[k] for k in ("date", "credit", "memo") if mapping[k] not in header]
    if missing:
        raise CreditFormatError(f"missing columns: {', '.join(missing)}")
    col = {k: header.index(v) for k, v in mapping.items() if v in header}
    credits = []
    for line, row in enumerate(table[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue

        def at(key: str, row: list[str] = row) -> str:
            return row[col[key]].strip() if key in col and col[key] < len(row) else ""

        cell = at("credit")
        if not cell or cell in {"0", "-"}:
            continue
        if not at("date") and _is_total(row):
            continue  # the export's "Tổng cộng" line: the sum of the lines above, not a credit
        try:
            amount = whole_dong(cell.replace(".", "") if re.fullmatch(r"\d{1,3}(\.\d{3})+", cell) else cell, "credit")
            when = datetime.strptime(at("date"), mapping.get("date_format", "%d/%m/%Y %H:%M:%S"))
        except (CreditFormatError, ValueError) as exc:
            raise CreditFormatError(f"line {line}: {exc}") from exc
        ref = at("reference")
        credits.append(
            BankCredit(
                account_number=account_number,
                amount=amount,
                booked_at=when.replace(tzinfo=VN).astimezone(UTC),
                memo=at("memo"),
                source_kind="csv",
                identifiers=(ref,) if ref else (),
                payer_name=at("payer"),
                payer_account=at("payer_account"),
                virtual_account=at("virtual_account"),
            )
        )
    return Statement("csv", account_number, credits)


def parse_statement(filename: str, data: bytes, *, account: str, layout: str | None, mapping: str | None) -> Statement:
    """Any statement the suite takes, by its content: camt.053/054, MT940, or a CSV/.xlsx table (which
    needs a known `layout` or a JSON column `mapping`)."""
    fmt = detect_format(filename, data)
    if fmt in ("camt053", "camt054"):
        return parse_camt(data, fmt)
    if fmt == "mt940":
        return parse_mt940(data)
    try:
        columns = LAYOUTS.get(layout or "") if layout else json.loads(mapping or "null")
    except ValueError as exc:
        raise CreditFormatError(f"the column mapping is not JSON: {exc}") from exc
    if not columns:
        raise CreditFormatError(f"a CSV/Excel statement needs layout ({', '.join(LAYOUTS)}) or a column mapping")
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise CreditFormatError('the column mapping must be an object of column names, e.g. {"credit": "Ghi có"}')
    return parse_bank_table(data, account_number=account, mapping=columns, xlsx=fmt == "xlsx")
