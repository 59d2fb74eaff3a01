"""What parents are told and when (issue 31). Pure: the messages' fields and texts, the quiet hours, the
retry schedule, the masks the log shows.

A message is built from fields (the pupil's name, class, period, amount, due date, links): the ZNS template
takes them as its `template_data`, SMS and email put them in a text. No personal ID is ever in a message;
the phone and the email are opened from the roster only when sending, and the log shows them masked.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# No message between 21:00 and 07:00 in Vietnam: a message due then waits for the morning.
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(7, 0)
# A channel's temporary errors: tried again after 30 s, 1, 2, 4 … minutes, at most an hour apart; after this
# many tries on one channel, the next channel is tried.
MAX_TRIES_PER_CHANNEL = 5
# A message whose sending was cut short (the process ended between the claim and the answer) is tried again
# after this long, with the same idempotency key (the providers do not deliver it twice).
STALE_SENDING = timedelta(minutes=2)


class Kind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    REMINDER = "reminder"
    CODE = "code"  # a parent's one-time sign-in code (sent at any hour: the parent is waiting for it)


class ChannelName(StrEnum):
    ZALO = "zalo"
    SMS = "sms"
    EMAIL = "email"


# What one message costs on each channel (đồng), counted against the school's monthly cap: a ZNS payment
# request template and a brand-name SMS at common list prices; email costs nothing.
PRICE = {ChannelName.ZALO: 300, ChannelName.SMS: 750, ChannelName.EMAIL: 0}


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


@dataclass(frozen=True, kw_only=True)
class Fields:
    """A message's content: the template's parameters."""

    kind: Kind
    school: str
    pupil: str
    class_name: str
    period: str  # "MM/YYYY"
    amount: int  # the invoice's total, the payment's amount, or what is still owed
    due: date | None
    link: str  # the payment page, or the receipt
    reference: str = ""
    overdue: bool = False  # a reminder after the due date

    def template_data(self) -> dict[str, str]:
        """The ZNS template's parameters (each within Zalo's parameter lengths)."""
        if self.kind is Kind.CODE:
            return {"otp": self.reference}
        data = {
            "school_name": self.school[:100],
            "student_name": self.pupil[:30],
            "class_name": self.class_name[:30],
            "period": self.period,
            "amount": str(self.amount),
            "link": self.link,
        }
        if self.due is not None:
            data["due_date"] = day(self.due)
        if self.reference:
            data["payment_reference"] = self.reference
        return data

    def text(self) -> str:
        """The message in Vietnamese (email, and SMS after folding)."""
        if self.kind is Kind.CODE:
            code = self.reference or "••••••"  # cleared once sent: the log never shows a code
            return f"{self.school}: mã đăng nhập trang phụ huynh là {code}, dùng trong 10 phút. Không đưa mã cho ai."
        who = f"em {self.pupil} (lớp {self.class_name})"
        if self.kind is Kind.INVOICE:
            due = f", hạn nộp {day(self.due)}" if self.due else ""
            return (
                f"{self.school}: khoản thu kỳ {self.period} của {who} là {money(self.amount)}{due}. "
                f"Thanh toán bằng mã QR tại {self.link}"
            )
        if self.kind is Kind.PAYMENT:
            return f"{self.school}: đã nhận {money(self.amount)} cho {who}, kỳ {self.period}. Biên lai: {self.link}"
        when = ""
        if self.due is not None:
            when = f"đã quá hạn {day(self.due)}" if self.overdue else f"hạn nộp {day(self.due)}"
        return (
            f"{self.school}: nhắc khoản thu kỳ {self.period} của {who} còn {money(self.amount)}"
            + (f", {when}" if when else "")
            + f". Thanh toán tại {self.link}"
        )

    def subject(self) -> str:
        return {
            Kind.INVOICE: f"Khoản thu kỳ {self.period} của em {self.pupil}",
            Kind.PAYMENT: f"Đã nhận tiền: biên lai của em {self.pupil}",
            Kind.REMINDER: f"Nhắc khoản thu kỳ {self.period} của em {self.pupil}",
            Kind.CODE: "Mã đăng nhập trang phụ huynh",
        }[self.kind]


def sms_text(text: str) -> str:
    """Brand-name SMS are sent without diacritics (one 160-character part is cheaper than a Unicode one)."""
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if unicodedata.category(c) != "Mn")


def after_quiet_hours(now: datetime, quiet: tuple[time, time] | None = (QUIET_FROM, QUIET_UNTIL)) -> datetime:
    """`now` when it is not in the quiet hours (Vietnam time; None: none); else the morning they end."""
    if quiet is None:
        return now
    start, end = quiet
    local = now.astimezone(VN)
    if end <= local.time() < start:
        return now
    morning = local.date() + (timedelta(days=1) if local.time() >= start else timedelta())
    return datetime.combine(morning, end, tzinfo=VN).astimezone(UTC)


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """'21:00-07:00' → (21:00, 07:00); '' → no quiet hours."""
    if not text.strip():
        return None
    start, _, end = text.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def backoff(tries: int) -> timedelta:
    """The wait before the next try after `tries` temporary failures on a channel."""
    return timedelta(seconds=min(30 * 2 ** max(tries - 1, 0), 3600))


def mask_phone(phone: str) -> str:
    """0912345678 → 091****678: enough for a parent to recognise, not enough to call."""
    digits = "".join(c for c in phone if c.isdigit())
    return digits[:3] + "****" + digits[-3:] if len(digits) >= 7 else "***"


def mask_email(email: str) -> str:
    name, _, host = email.partition("@")
    return (name[:1] + "***@" + host) if host else "***"


def international(phone: str) -> str:
    """0912345678 → 84912345678, the form Zalo and the SMS gateways take."""
    digits = "".join(c for c in phone if c.isdigit())
    return "84" + digits[1:] if digits.startswith("0") else digits


def reminder_due(today: date, due: date, *, days_before: int, every_days: int) -> bool:
    """A reminder goes `days_before` the due date, on it, and every `every_days` after it."""
    if today < due:
        return (due - today).days == days_before
    return (today - due).days % every_days == 0
