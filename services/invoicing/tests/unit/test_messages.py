"""What parents are told and when (domain/messages.py): texts, quiet hours, retries, masks, reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from invoicing.domain.messages import (
    VN,
    Fields,
    Kind,
    after_quiet_hours,
    backoff,
    international,
    mask_email,
    mask_phone,
    reminder_due,
    sms_text,
)


def _vn(h: int, m: int = 0, d: int = 2) -> datetime:
    return datetime(2026, 12, d, h, m, tzinfo=VN).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "sent_at"),
    [
        (_vn(7), _vn(7)),  # 07:00: allowed
        (_vn(12, 30), _vn(12, 30)),
        (_vn(20, 59), _vn(20, 59)),
        (_vn(21), _vn(7, 0, 3)),  # 21:00: the next morning
        (_vn(23, 45), _vn(7, 0, 3)),
        (_vn(0, 5), _vn(7)),  # after midnight: this morning
        (_vn(6, 59), _vn(7)),
    ],
)
def test_nothing_is_sent_between_nine_at_night_and_seven_in_the_morning(now, sent_at):
    assert after_quiet_hours(now) == sent_at


def test_retries_wait_longer_each_time_and_at_most_an_hour():
    waits = [backoff(n) for n in range(1, 10)]
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert max(waits) == timedelta(hours=1) and waits == sorted(waits)


def test_the_log_shows_numbers_and_addresses_masked_and_providers_get_84():
    assert mask_phone("0912345678") == "091****678"
    assert mask_email("nguyen.lan@example.vn") == "n***@example.vn"
    assert international("0912 345 678") == "84912345678"
    assert international("84912345678") == "84912345678"


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 9, 12), True),  # three days before
        (date(2026, 9, 13), False),
        (date(2026, 9, 15), True),  # the due date
        (date(2026, 9, 16), False),
        (date(2026, 9, 22), True),  # a week after
        (date(2026, 9, 29), True),
    ],
)
def test_reminders_go_before_the_due_date_on_it_and_every_week_after(today, due):
    assert reminder_due(today, date(2026, 9, 15), days_before=3, every_days=7) is due


def _fields(kind: Kind, **kw) -> Fields:
    base = {
        "kind": kind,
        "school": "Trường Tiểu học Nghĩa Tân",
        "pupil": "Dương Diệu Yến",
        "class_name": "1A",
        "period": "09/2026",
        "amount": 1_250_000,
        "due": date(2026, 9, 15),
        "link": "https://truong.example.vn/pay/abc",
        "reference": "HP3469ACDE",
    }
    return Fields(**(base | kw))


def test_each_message_says_what_a_parent_needs_and_sms_goes_without_diacritics():
    invoice = _fields(Kind.INVOICE).text()
    assert (
        "1.250.000 đồng" in invoice
        and "hạn nộp 15/09/2026" in invoice
        and "https://truong.example.vn/pay/abc" in invoice
    )
    assert "em Dương Diệu Yến (lớp 1A)" in invoice
    payment = _fields(Kind.PAYMENT, amount=500_000, link="https://r.example.vn/r/X").text()
    assert "đã nhận 500.000 đồng" in payment and "Biên lai: https://r.example.vn/r/X" in payment
    late = _fields(Kind.REMINDER, amount=300_000, overdue=True).text()
    assert "còn 300.000 đồng, đã quá hạn 15/09/2026" in late
    assert sms_text(invoice).isascii() and "Duong Dieu Yen" in sms_text(invoice)
    data = _fields(Kind.INVOICE).template_data()
    assert data["amount"] == "1250000" and data["due_date"] == "15/09/2026" and len(data["student_name"]) <= 30
