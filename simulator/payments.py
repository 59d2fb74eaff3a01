"""The payment simulator: parents paying as they really do, through the channels schools really have.

Most pay by scanning the QR (exact amount and reference) and their bank mangles the memo its own way;
some pay late, partially, twice or the wrong amount; some type the memo by hand, with typos; some pay
in cash at the school. Webhooks arrive out of order and some are retried; at the end of the day the
bank statement (camt.054) repeats the day's credits. `rate` bounds credits per second (for load).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import httpx

from reconciliation.adapters.webhooks import casso_signature
from shared import payref
from shared.formatting import VN
from simulator.district import SCHOOLS, WEBHOOK_SECRETS, SchoolPlan, Urls, tokens


def mangle(memo: str, rng: random.Random, name: str) -> str:
    """What a bank does to a memo (shapes seen on real statements)."""
    style = rng.randrange(7)
    if style == 0:
        return f"MBVCB.{rng.randrange(10**9, 10**10)}.{memo}.CT tu {rng.randrange(10**13)} {name} toi TRUONG"
    if style == 1:
        return f"{rng.randrange(100000, 999999)}.{datetime.now(VN):%d%m%y.%H%M%S}.{memo}"
    if style == 2:
        return f"IBFT {memo}"
    if style == 3:
        return f"CT nhanh 247 den: {memo}-{datetime.now(VN):%d%m%y-%H:%M:%S} {rng.randrange(10**6)}"
    if style == 4:
        return f"0200970415{memo.replace(' ', '.')}.1.{datetime.now(VN):%H%M%S}"
    if style == 5:
        return memo.lower()
    return memo


def typo(ref: str, rng: random.Random) -> str:
    i = rng.randrange(2, 10)
    return ref[:i] + rng.choice([c for c in payref.ALPHABET if c != ref[i]]) + ref[i + 1 :]


@dataclass
class Credit:
    school: SchoolPlan
    amount: int
    memo: str
    ref: str  # the bank's transaction reference (FT...)
    payer: str
    booked_at: datetime = field(default_factory=lambda: datetime.now(VN))


@dataclass
class Stats:
    webhooks: int = 0
    retries: int = 0
    cash: int = 0
    refused: int = 0
    statements: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Simulator:
    def __init__(self, urls: Urls, secret: str, *, rate: float = 40.0, seed: int = 7, share: float = 1.0) -> None:
        self.urls, self.rng, self.rate, self.share = urls, random.Random(seed), rate, share
        self.tokens = tokens(secret)
        self.stats = Stats()
        self.day_credits: dict[str, list[Credit]] = {s.school_id: [] for s in SCHOOLS}
        self._counter = int(time.time()) % 10**6 * 1000

    def _ft(self) -> str:
        self._counter += 1
        return f"FT26{self._counter:09d}"

    async def _open_invoices(self, http: httpx.AsyncClient, school: SchoolPlan) -> list[dict[str, Any]]:
        r = await http.get(
            f"{self.urls.invoicing}/schools/{school.school_id}/invoices",
            params={"limit": 5000},
            headers={"Authorization": f"Bearer {self.tokens[school.school_id]}"},
        )
        r.raise_for_status()
        return [i for i in r.json() if i["outstanding"] > 0 and i["status"] != "cancelled"]

    def _plan(self, school: SchoolPlan, inv: dict[str, Any]) -> list[tuple[str, Any]]:
        """What this parent does: a list of (kind, detail)."""
        rng, due, ref = self.rng, inv["outstanding"], inv["payment_reference"]
        qr_memo = f"{ref} T{inv['period'][5:]} {inv['period'][:4]}"
        name = payref.fold_memo(inv["full_name"])
        if rng.random() > school.pays * self.share:
            return []
        if rng.random() > school.cashless:
            return [("cash", due)]
        roll = rng.random()
        if roll < 0.72:
            return [("bank", (due, mangle(qr_memo, rng, name), "qr"))]
        if roll < 0.80:
            return [("bank", (due, mangle(f"{name} {ref[:5]} {ref[5:]} nop hoc phi", rng, name), "typed"))]
        if roll < 0.85:
            return [("bank", (due, mangle(f"{name} {typo(ref, rng)} hoc phi", rng, name), "typo"))]
        if roll < 0.90:
            half = due // 2 // 1000 * 1000 or due
            return (
                [
                    ("bank", (half, mangle(qr_memo, rng, name), "partial")),
                    ("bank", (due - half, mangle(qr_memo, rng, name), "rest")),
                ]
                if half < due
                else [("bank", (due, mangle(qr_memo, rng, name), "qr"))]
            )
        if roll < 0.93:
            return [
                ("bank", (due, mangle(qr_memo, rng, name), "qr")),
                ("bank", (due, mangle(qr_memo, rng, name), "twice")),
            ]
        if roll < 0.96:
            return [("bank", (due + 10_000, mangle(qr_memo, rng, name), "overpaid"))]
        return [("bank", (due, mangle(f"{name} LOP {inv['class_name']} NOP TIEN", rng, name), "no_reference"))]

    async def _send_webhook(self, http: httpx.AsyncClient, c: Credit) -> None:
        for attempt in range(2 if self.rng.random() < 0.08 else 1):  # the aggregator retries some
            url, content, headers = self.webhook_request(c)
            r = await self._post(http, url, content, headers)
            self.stats.webhooks += attempt == 0
            self.stats.retries += attempt > 0
            if r.status_code >= 400:
                self.stats.refused += 1

    @staticmethod
    async def _post(http: httpx.AsyncClient, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """As an aggregator does: a request that got no answer (a kept-alive connection the server closed just
        then, a reset) is sent again; the webhook is idempotent, so a repeat is never a second credit."""
        for attempt in range(4):
            try:
                return await http.post(url, content=content, headers=headers)
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ConnectError):
                if attempt == 3:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def webhook_request(self, c: Credit) -> tuple[str, bytes, dict[str, str]]:
        """The aggregator's signed request for this credit (signed now: Casso's signature carries the time)."""
        school = c.school
        _, key = WEBHOOK_SECRETS[school.provider]
        when = c.booked_at.strftime("%Y-%m-%d %H:%M:%S")
        if school.provider == "casso":
            body = {
                "error": 0,
                "data": {
                    "id": 0,
                    "reference": c.ref,
                    "description": c.memo,
                    "amount": c.amount,
                    "runningBalance": 0,
                    "transactionDateTime": when,
                    "accountNumber": school.account,
                    "counterAccountName": c.payer,
                    "counterAccountNumber": "",
                    "virtualAccountNumber": "",
                },
            }
            t = str(int(time.time() * 1000))
            content = json.dumps(body, ensure_ascii=False)
            headers = {
                "X-Casso-Signature": f"t={t},v1={casso_signature(key, t, body)}",
                "Content-Type": "application/json",
            }
        else:
            content = json.dumps(
                {
                    "id": int(c.ref[4:]),
                    "gateway": "Bank",
                    "transactionDate": when,
                    "accountNumber": school.account,
                    "code": None,
                    "content": c.memo,
                    "transferType": "in",
                    "transferAmount": c.amount,
                    "accumulated": 0,
                    "subAccount": None,
                    "referenceCode": c.ref,
                    "description": "",
                },
                ensure_ascii=False,
            )
            headers = {"Authorization": f"Apikey {key}", "Content-Type": "application/json"}
        return f"{self.urls.reconciliation}/webhooks/{school.provider}/{school.school_id}", content.encode(), headers

    async def run(self, *, statements: bool = True, on_progress: Any = None) -> Stats:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as http:
            actions: list[tuple[SchoolPlan, dict[str, Any], str, Any]] = []
            for school in SCHOOLS:
                for inv in await self._open_invoices(http, school):
                    actions += [(school, inv, kind, detail) for kind, detail in self._plan(school, inv)]
            self.rng.shuffle(actions)  # parents pay in no particular order; webhooks arrive out of order
            interval = 1.0 / self.rate if self.rate > 0 else 0.0
            started = time.monotonic()
            pending: set[asyncio.Task[None]] = set()
            for n, (school, inv, kind, detail) in enumerate(actions):
                if kind == "cash":
                    pending.add(asyncio.create_task(self._cash(http, school, inv, detail)))
                else:
                    amount, memo, label = detail
                    self.stats.by_kind[label] = self.stats.by_kind.get(label, 0) + 1
                    credit = Credit(school, amount, memo, self._ft(), payref.fold_memo(inv["full_name"]))
                    self.day_credits[school.school_id].append(credit)
                    pending.add(asyncio.create_task(self._send_webhook(http, credit)))
                if len(pending) >= 16:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()  # a payment that could not be sent fails the run, never silently
                delay = started + (n + 1) * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if on_progress and n % 100 == 99:
                    on_progress(n + 1, len(actions))
            if pending:
                done, _ = await asyncio.wait(pending)
                for task in done:
                    task.result()
            if statements:
                await self.end_of_day(http)
        return self.stats

    async def _cash(self, http: httpx.AsyncClient, school: SchoolPlan, inv: dict[str, Any], amount: int) -> None:
        r = await http.post(
            f"{self.urls.reconciliation}/schools/{school.school_id}/cash",
            headers={"Authorization": f"Bearer {self.tokens[school.school_id]}"},
            json={"invoice_id": inv["invoice_id"], "amount": amount, "payer_name": inv["full_name"]},
        )
        self.stats.cash += r.status_code == 201

    def statement(self, school: SchoolPlan, credits: list[Credit]) -> bytes:
        """The bank's camt.054 of these credits."""
        entries = "".join(
            f'<Ntry><NtryRef>{c.ref}</NtryRef><Amt Ccy="VND">{c.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>{c.booked_at.isoformat(timespec='seconds')}</DtTm></BookgDt>"
            f"<AcctSvcrRef>{c.ref}S</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>{escape(c.payer)}"
            f"</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>{escape(c.memo)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
            for c in credits
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">'
            f"<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>{school.school_id}-{int(time.time())}</MsgId>"
            f"<CreDtTm>{datetime.now(VN).isoformat(timespec='seconds')}</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id>"
            f"<Acct><Id><Othr><Id>{school.account}</Id></Othr></Id><Ccy>VND</Ccy></Acct>{entries}"
            "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
        ).encode()

    async def end_of_day(self, http: httpx.AsyncClient) -> None:
        """The bank's camt.054 of the day repeats every credit: none may be counted twice."""
        for school in SCHOOLS:
            credits = self.day_credits[school.school_id]
            if not credits:
                continue
            r = await http.post(
                f"{self.urls.reconciliation}/schools/{school.school_id}/statements",
                headers={"Authorization": f"Bearer {self.tokens[school.school_id]}"},
                files={"file": (f"camt054-{school.school_id}.xml", self.statement(school, credits))},
            )
            if r.status_code == 200:
                self.stats.statements += 1
            self.day_credits[school.school_id] = []
