"""ISO 20022 camt.053 (day statement) and camt.054 (credit notification), as banks send them.

What a credit says is gathered from every place banks put it: the unstructured remittance lines (`Ustrd`),
the structured creditor reference (`Strd/CdtrRefInf/Ref`, where payment codes go), `AddtlTxInf`, and for an
entry of one transaction `AddtlNtryInf`; the payer's account by IBAN or other id. A debit entry marked as a
reversal (`RvslInd`) takes back a credit; a credit marked so gives back a debit and is not a payment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

from reconciliation.adapters.statement_parts import Closing, Statement, check_currency, dong
from reconciliation.domain.credits import BankCredit, BankReversal, CreditFormatError
from shared.formatting import VN

NS = dict[str, str]


def _text(el: Any, path: str, ns: NS) -> str:
    found = el.find(path, ns)
    return found.text.strip() if found is not None and found.text else ""


def _texts(el: Any, path: str, ns: NS) -> list[str]:
    return [t.text.strip() for t in el.findall(path, ns) if t.text and t.text.strip()]


def _where(el: Any, what: str) -> str:
    return f"{what} (dòng {el.sourceline})"


def _time(entry: Any, ns: NS, where: str) -> datetime:
    dt = _text(entry, "c:BookgDt/c:DtTm", ns) or _text(entry, "c:ValDt/c:DtTm", ns)
    d = _text(entry, "c:BookgDt/c:Dt", ns) or _text(entry, "c:ValDt/c:Dt", ns)
    if not dt and not d:
        raise CreditFormatError(f"{where}: thiếu ngày hạch toán (BookgDt)")
    try:
        if dt:
            parsed = datetime.fromisoformat(dt)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=VN)).astimezone(UTC)
        # A date alone: noon local time, so that the local date is the booking date in every zone conversion.
        return datetime.fromisoformat(d + "T12:00:00").replace(tzinfo=VN).astimezone(UTC)
    except ValueError as exc:
        raise CreditFormatError(f"{where}: ngày hạch toán {(dt or d)[:40]!r} không đúng dạng ISO") from exc


def _amount(el: Any, path: str, ns: NS, where: str) -> int:
    amt = el.find(path, ns)
    if amt is None or not amt.text:
        raise CreditFormatError(f"{where}: thiếu số tiền (Amt)")
    field = _where(amt, "Amt")
    check_currency(amt.get("Ccy"), f"{where}, {field}")
    return dong(amt.text.strip(), f"{where}, {field}")


def parse_camt(data: bytes, kind: str) -> Statement:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else "?"
        raise CreditFormatError(f"{kind}: tệp XML hỏng ở dòng {line}") from exc
    ns = {"c": root.nsmap.get(None) or ""}
    block = "c:BkToCstmrStmt/c:Stmt" if kind == "camt053" else "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn"
    out = Statement(kind, None, [])
    account = None
    reports = root.findall(block, ns)
    for report in reports:
        account = _text(report, "c:Acct/c:Id/c:Othr/c:Id", ns) or _text(report, "c:Acct/c:Id/c:IBAN", ns)
        if not account:
            raise CreditFormatError(f"{kind}, {_where(report, 'Acct/Id')}: thiếu số tài khoản")
        for n, entry in enumerate(report.findall("c:Ntry", ns), start=1):
            _entry(out, entry, ns, account, kind, f"{kind}, {_where(entry, f'Ntry {n}')}")
    closing = _closing(reports[-1], ns, kind) if kind == "camt053" and reports else None
    return Statement(kind, account, out.credits, closing, out.reversals, out.notes)


def _entry(out: Statement, entry: Any, ns: NS, account: str, kind: str, where: str) -> None:
    status = _text(entry, "c:Sts/c:Cd", ns) or _text(entry, "c:Sts", ns)
    if status and status != "BOOK":
        return  # pending or informational entries are not money yet
    side = _text(entry, "c:CdtDbtInd", ns)
    reversal = _text(entry, "c:RvslInd", ns).lower() == "true"
    amount = _amount(entry, "c:Amt", ns, where)
    if amount == 0:
        out.notes.append(f"{where}: số tiền 0 (dòng thông báo), bỏ qua")
        return
    if side == "DBIT" and reversal:
        out.reversals.append(_reversal(entry, ns, account, amount, where))
    elif side == "CRDT" and reversal:
        out.notes.append(f"{where}: hoàn lại một khoản ghi nợ, không phải khoản nộp; bỏ qua")
    elif side == "CRDT":
        out.credits.extend(_credits(entry, ns, account, kind, amount, where))


def _refs(*texts: str) -> list[str]:
    """The references a bank gave: the empty ones and its "NOTPROVIDED" left out."""
    return [t for t in texts if t and t.upper() != "NOTPROVIDED"]


def _entry_ids(entry: Any, ns: NS) -> list[str]:
    return _refs(_text(entry, "c:NtryRef", ns), _text(entry, "c:AcctSvcrRef", ns))


def _whole(entry: Any, ns: NS, account: str) -> dict[str, Any]:
    """What an entry of one transaction (or none) says: its transaction's details, the memo with the entry's
    AddtlNtryInf, and the entry's references with the transaction's."""
    txs = entry.findall("c:NtryDtls/c:TxDtls", ns)
    tx = _tx(txs[0], ns, account) if len(txs) == 1 else {}
    return tx | {"memo": _memo(tx, entry, ns, single=True), "ids": _entry_ids(entry, ns) + tx.get("ids", [])}


def _reversal(entry: Any, ns: NS, account: str, amount: int, where: str) -> BankReversal:
    whole = _whole(entry, ns, account)
    return BankReversal(
        account_number=account,
        amount=amount,
        booked_at=_time(entry, ns, where),
        memo=whole["memo"],
        identifiers=_ids(whole["ids"]),
        where=where,
    )


def _credits(entry: Any, ns: NS, account: str, kind: str, amount: int, where: str) -> list[BankCredit]:
    """The entry's credits: one per transaction of a batch entry (each with its own amount, memo, payer and
    references), or the entry itself."""
    booked = _time(entry, ns, where)
    txs = entry.findall("c:NtryDtls/c:TxDtls", ns)
    if len(txs) <= 1:
        whole = _whole(entry, ns, account)
        return [_credit(account, amount, booked, kind, whole["ids"], whole)]
    entry_ids = _entry_ids(entry, ns)
    parts = [_tx(el, ns, account) for el in txs]
    credits = []
    for i, (el, tx) in enumerate(zip(txs, parts, strict=True), start=1):
        tx_where = f"{where}, {_where(el, f'giao dịch {i}')}"
        path = "c:Amt" if el.find("c:Amt", ns) is not None else "c:AmtDtls/c:TxAmt/c:Amt"
        tx_amount = _amount(el, path, ns, tx_where)
        if tx_amount == 0:
            continue
        ids = _batch_ids(tx["ids"], [p["ids"] for p in parts], entry_ids, i)
        credits.append(_credit(account, tx_amount, booked, kind, ids, tx | {"memo": _memo(tx, el, ns, single=False)}))
    total = sum(c.amount for c in credits)
    if total != amount:
        raise CreditFormatError(f"{where}: {len(txs)} giao dịch cộng lại {total}, bút toán ghi {amount}")
    return credits


def _batch_ids(own: list[str], all_txs: list[list[str]], entry_ids: list[str], i: int) -> list[str]:
    """A batch transaction's identifiers, which no other transaction of the batch shares: its own references
    where they are its alone; else the entry's references numbered by its place (`REF#2`). Without this, two
    equal payments of one batch that repeat the entry's AcctSvcrRef would be taken for one credit."""
    shared = {r for other in all_txs[: i - 1] + all_txs[i:] for r in other}
    mine = [r for r in own if r not in shared]
    return mine or [f"{r}#{i}" for r in entry_ids + own]


def _memo(tx: dict[str, Any], el: Any, ns: NS, *, single: bool) -> str:
    """The memo with every text the bank gave (appended, so a webhook's memo stays its start); an entry of
    one transaction also gives its entry's AddtlNtryInf (a batch's would name every payer's code)."""
    parts = [tx.get("memo", ""), *tx.get("refs", []), *tx.get("more", [])]
    if single:
        parts.append(_text(el, "c:AddtlNtryInf", ns))
    seen: list[str] = []
    for p in parts:
        if p and not any(p in s for s in seen):
            seen.append(p)
    return " ".join(seen)


def _tx(tx: Any, ns: NS, account: str) -> dict[str, Any]:
    """What one TxDtls says: references, memo, payer, and the virtual account credited (when the bank
    names a creditor account other than the statement's)."""
    credited = _text(tx, "c:RltdPties/c:CdtrAcct/c:Id/c:Othr/c:Id", ns) or _text(
        tx, "c:RltdPties/c:CdtrAcct/c:Id/c:IBAN", ns
    )
    return {
        "ids": _refs(
            _text(tx, "c:Refs/c:TxId", ns),
            _text(tx, "c:Refs/c:AcctSvcrRef", ns),
            _text(tx, "c:Refs/c:EndToEndId", ns),
        ),
        "memo": " ".join(_texts(tx, "c:RmtInf/c:Ustrd", ns)),
        "refs": _texts(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns),
        "more": _texts(tx, "c:AddtlTxInf", ns),
        "payer": _text(tx, "c:RltdPties/c:Dbtr/c:Pty/c:Nm", ns) or _text(tx, "c:RltdPties/c:Dbtr/c:Nm", ns),
        "payer_account": _text(tx, "c:RltdPties/c:DbtrAcct/c:Id/c:IBAN", ns)
        or _text(tx, "c:RltdPties/c:DbtrAcct/c:Id/c:Othr/c:Id", ns),
        "virtual_account": credited if credited and credited != account else "",
    }


def _ids(ids: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def _credit(account: str, amount: int, booked: datetime, kind: str, ids: list[str], tx: dict[str, Any]) -> BankCredit:
    return BankCredit(
        account_number=account,
        amount=amount,
        booked_at=booked,
        memo=tx.get("memo", ""),
        source_kind=kind,
        identifiers=_ids(ids),
        payer_name=tx.get("payer", ""),
        payer_account=tx.get("payer_account", ""),
        virtual_account=tx.get("virtual_account", ""),
    )


def _closing(report: Any, ns: NS, kind: str) -> Closing | None:
    for bal in report.findall("c:Bal", ns):
        if _text(bal, "c:Tp/c:CdOrPrtry/c:Cd", ns) != "CLBD":
            continue
        where = f"{kind}, {_where(bal, 'số dư cuối ngày (Bal CLBD)')}"
        amount = _amount(bal, "c:Amt", ns, where)
        day = _text(bal, "c:Dt/c:Dt", ns) or _text(bal, "c:Dt/c:DtTm", ns)[:10]
        try:
            return Closing(date.fromisoformat(day), -amount if _text(bal, "c:CdtDbtInd", ns) == "DBIT" else amount)
        except ValueError as exc:
            raise CreditFormatError(f"{where}: ngày {day!r} không phải một ngày") from exc
    return None
