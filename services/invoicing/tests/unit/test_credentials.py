"""What makes a password, a user name and a throttle acceptable (NIST SP 800-63B; never locked for good)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from invoicing.adapters.credentials import totp_code, totp_step
from invoicing.domain.credentials import (
    ACCOUNT_THROTTLE,
    WeakPassword,
    check_password,
    normalise_username,
    totp_step_accepted,
)
from shared.errors import Invalid


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("ngắn", "ít nhất 12"),
        ("x" * 129, "dài quá"),
        ("password1234", "phổ biến"),
        ("Matkhau123456!", "phổ biến"),
        ("111111111111", "phổ biến"),
        ("abababababab", "phổ biến"),
        ("nguyenvanhung 1987", "tên đăng nhập"),
    ],
)
def test_weak_passwords_are_refused_saying_why(password: str, says: str):
    with pytest.raises(WeakPassword, match=says):
        check_password(password, own_words=("nguyenvanhung", "Nguyễn Văn Hùng"))


def test_a_long_passphrase_of_any_characters_is_accepted_and_normalised():
    assert check_password("hoa phượng nở đỏ sân trường") == "hoa phượng nở đỏ sân trường"
    # NFKC: the same password typed on two keyboards compares equal.
    assert check_password("ｆｕｌｌｗｉｄｔｈ ｐａｓｓ ２０２６") == "fullwidth pass 2026"


def test_user_names_are_plain_and_lower_case():
    assert normalise_username(" KeToan.Lan ") == "ketoan.lan"
    for bad in ("ab", "kế.toán", "a b", "x" * 65):
        with pytest.raises(Invalid):
            normalise_username(bad)


def test_the_throttle_doubles_its_wait_and_never_locks_for_good():
    waits = [ACCOUNT_THROTTLE.wait_after(n) for n in range(4, 12)]
    assert waits[0] == timedelta(0) and waits[1] == timedelta(seconds=30) and waits[2] == timedelta(seconds=60)
    assert max(waits) == ACCOUNT_THROTTLE.longest_wait == timedelta(minutes=15)
    assert ACCOUNT_THROTTLE.wait_after(10_000) == timedelta(minutes=15)


def test_a_totp_code_matches_its_step_and_signs_in_once():
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    now = 1_796_000_000.0
    step = totp_step(secret, totp_code(secret, now=now), now=now)
    assert step == int(now // 30)
    assert totp_step(secret, totp_code(secret, now=now - 30), now=now) == step - 1  # a clock a little behind
    assert totp_step(secret, totp_code(secret, now=now - 90), now=now) is None
    assert totp_step(secret, "12345", now=now) is None
    assert totp_step_accepted(step, step - 1) and not totp_step_accepted(step, step)
