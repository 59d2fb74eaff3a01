"""SWIFT MT940 as banks send it: one file may hold several statements (a day or a page each, with its own
`:20:`, `:25:`, `:28C:`, `:60F:`/`:60M:` and `:62F:`/`:62M:`), each checked against its own balances.

The `:61:` mark says what a line is: `C` a credit, `D` a debit, `RC` the reversal of a credit (money leaves:
the bank takes back a credit it booked), `RD` the reversal of a debit (money comes back; not a payment). The
library signs RC and RD as C and D by default, so the sign is taken here from the mark. A zero-amount line
is a notice: skipped, with a note. Refusals name the line and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import mt940

from reconciliation.adapters.statement_parts import Closing, Statement, check_currency, dong
from reconciliation.domain.credits import BankCredit, BankReversal, CreditFormatError
from shared.formatting import VN

_TAG = re.compile(r"^:(\d{2}[A-Z]?):")
# SWIFT block framing around the text block ({1:…}{2:…}{4: before, -} after): not statement lines.
_FRAME = re.compile(r"^(\{\d:|-\}|-$)")
_SIGN = {"C": 1, "RD": 1, "D": -1, "RC": -1}


@dataclass(frozen=True)
class _Chunk:
    """One statement's lines, with the file's line number of its first line."""

    first_line: int
    lines: list[str]

    def line_of(self, tag: str, nth: int) -> int:
        """The file's line number of the nth (0-based) occurrence of `tag`."""
        found = [i for i, line in enumerate(self.lines) if line.startswith(f":{tag}:")]
        return self.first_line + found[nth] if nth < len(found) else self.first_line

    def tags(self) -> set[str]:
        return {m.group(1) for line in self.lines if (m := _TAG.match(line))}


def _chunks(text: str) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _FRAME.match(line.strip()):
            continue
        if line.startswith(":20:"):
            chunks.append(_Chunk(number, []))
        if chunks:
            chunks[-1].lines.append(line)
    return chunks


def parse_mt940(data: bytes) -> Statement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    chunks = _chunks(text)
    if not chunks:
        raise CreditFormatError("MT940: không có bảng kê nào (thiếu thẻ :20:)")
    out = Statement("mt940", None, [])
    account = None
    closing = None
    for chunk in chunks:
        this_account, closing = _statement(out, chunk)
        if account is not None and this_account != account:
            raise CreditFormatError(
                f"MT940 dòng {chunk.line_of('25', 0)} (:25:): tài khoản {this_account}, khác tài khoản {account} "
                "của các bảng kê trước trong cùng tệp"
            )
        account = this_account
    return Statement("mt940", account, out.credits, closing, out.reversals, out.notes)


def _read(chunk: _Chunk) -> Any:
    transactions = mt940.models.Transactions()
    try:
        transactions.parse("\n".join(chunk.lines))
    except Exception as exc:  # the library raises several types; its text holds the line, never shown
        raise CreditFormatError(_unreadable(chunk, exc)) from None
    return transactions


def _unreadable(chunk: _Chunk, exc: Exception) -> str:
    tag = getattr(exc.args[1], "id", None) if len(exc.args) > 1 else None
    value = str(exc.args[2]) if len(exc.args) > 2 else ""
    if tag is not None:
        first = value.splitlines()[0] if value else ""
        for i, line in enumerate(chunk.lines):
            if line.startswith(f":{tag}:") and line[len(str(tag)) + 2 :].startswith(first):
                return f"MT940 dòng {chunk.first_line + i} (:{tag}:): không đúng định dạng của thẻ này"
        return f"MT940 bảng kê ở dòng {chunk.first_line}: thẻ :{tag}: không đúng định dạng"
    return f"MT940 bảng kê ở dòng {chunk.first_line}: không đọc được"


def _balance(chunk: _Chunk, data: dict[str, Any], kind: str) -> tuple[int, Any] | None:
    """The statement's opening (60) or closing (62) balance, final or intermediate, signed, with its date."""
    tag = "60" if kind == "opening" else "62"
    bal = data.get(f"final_{kind}_balance") or data.get(f"intermediate_{kind}_balance")
    if bal is None:
        return None
    letter = "F" if data.get(f"final_{kind}_balance") is not None else "M"
    where = f"MT940 dòng {chunk.line_of(tag + letter, 0)} (:{tag}{letter}:)"
    check_currency(bal.amount.currency, where)
    magnitude = dong(abs(bal.amount.amount), where)
    return (-magnitude if bal.status == "D" else magnitude), bal.date


def _statement(out: Statement, chunk: _Chunk) -> tuple[str, Closing | None]:
    """One statement's lines into `out`; returns its account and closing balance."""
    transactions = _read(chunk)
    ident = str(transactions.data.get("account_identification") or "")
    if not ident:
        raise CreditFormatError(f"MT940 bảng kê ở dòng {chunk.first_line}: thiếu thẻ :25: (số tài khoản)")
    account = ident.split("/")[-1].strip()
    opening = _balance(chunk, transactions.data, "opening")
    closing = _balance(chunk, transactions.data, "closing")
    moved = 0
    for n, tr in enumerate(transactions):
        moved += _line(out, chunk, n, tr.data, account)
    if opening is not None and closing is not None and closing[0] - opening[0] != moved:
        raise CreditFormatError(
            f"MT940 bảng kê ở dòng {chunk.first_line}: số dư không khớp: :62: − :60: = {closing[0] - opening[0]}, "
            f"các dòng :61: cộng lại {moved}"
        )
    end = None
    if closing is not None:
        day = closing[1]
        end = Closing(date(day.year, day.month, day.day), closing[0])
    return account, end


def _line(out: Statement, chunk: _Chunk, n: int, d: dict[str, Any], account: str) -> int:
    """One `:61:` line into `out`; returns what it moves the balance by (signed)."""
    where = f"MT940 dòng {chunk.line_of('61', n)} (:61:)"
    mark = str(d.get("status") or "").upper()
    if mark not in _SIGN:
        raise CreditFormatError(f"{where}: dấu ghi nợ/ghi có {mark!r} không hợp lệ (C, D, RC hoặc RD)")
    check_currency(d.get("currency"), where)
    amount = dong(abs(d["amount"].amount), f"{where} số tiền")
    if amount == 0:
        out.notes.append(f"{where}: số tiền 0 (dòng thông báo), bỏ qua")
        return 0
    day = d.get("entry_date") or d["date"]
    booked = datetime(day.year, day.month, day.day, 12, tzinfo=VN).astimezone(UTC)
    refs = (d.get("customer_reference"), d.get("bank_reference"))
    ids = tuple(dict.fromkeys(r.strip() for r in refs if r and r.strip() and r.strip().upper() != "NONREF"))
    memo = (d.get("transaction_details") or "").strip()
    if mark == "C":
        out.credits.append(
            BankCredit(
                account_number=account, amount=amount, booked_at=booked, memo=memo, source_kind="mt940", identifiers=ids
            )
        )
    elif mark == "RC":
        out.reversals.append(
            BankReversal(
                account_number=account, amount=amount, booked_at=booked, memo=memo, identifiers=ids, where=where
            )
        )
    elif mark == "RD":
        out.notes.append(f"{where}: hoàn lại một khoản ghi nợ, không phải khoản nộp; bỏ qua")
    return _SIGN[mark] * amount
