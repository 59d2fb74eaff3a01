import random

from hypothesis import given
from hypothesis import strategies as st

from shared import payref


def test_references_are_ten_characters_of_the_unambiguous_alphabet_and_fit_every_banking_app():
    ref = payref.make_reference(12345)
    assert len(ref) == 10 <= 19 and ref.startswith("HP")
    assert set(ref[2:]) <= set(payref.ALPHABET)
    assert not set(ref[2:]) & set("0O1IL2Z5S8BV")
    assert payref.validate(ref) == ref


def test_distinct_counters_never_give_the_same_reference():
    refs = {payref.make_reference(i) for i in range(200_000)}
    assert len(refs) == 200_000


@given(st.integers(0, payref.SPACE - 1), st.integers(2, 9), st.sampled_from(payref.ALPHABET))
def test_any_single_character_changed_is_rejected(counter, position, replacement):
    ref = payref.make_reference(counter)
    if ref[position] == replacement:
        return
    mistyped = ref[:position] + replacement + ref[position + 1 :]
    assert not payref.is_valid(mistyped)


@given(st.integers(0, payref.SPACE - 1), st.integers(1, 9))
def test_a_reference_cut_short_is_rejected(counter, keep):
    ref = payref.make_reference(counter)
    assert not payref.is_valid(ref[:keep])


def test_most_adjacent_swaps_are_rejected():
    rng = random.Random(7)
    caught = total = 0
    for _ in range(5000):
        ref = payref.make_reference(rng.randrange(payref.SPACE))
        i = rng.randrange(2, 9)
        if ref[i] == ref[i + 1]:
            continue
        total += 1
        caught += not payref.is_valid(ref[:i] + ref[i + 1] + ref[i] + ref[i + 2 :])
    assert caught / total > 0.9


def test_the_checker_says_what_is_wrong():
    ref = payref.make_reference(1)
    for bad, reason in [
        (ref[:-1], "10 ký tự"),
        ("XX" + ref[2:], "bắt đầu bằng"),
        (ref[:5] + "0" + ref[6:], "Ký tự không dùng"),
        (ref[:-1] + ("3" if ref[-1] != "3" else "4"), "Ký tự kiểm tra"),
    ]:
        try:
            payref.validate(bad)
        except payref.PaymentReferenceError as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def test_references_are_found_in_memos_as_banks_mangle_them():
    ref = payref.make_reference(424242)
    other = payref.make_reference(7)
    memos = [
        f"MBVCB.11223344.{ref}.NGUYEN NGOC BAO ANH LOP 5A1.CT tu 19033344455566 NGUYEN VAN HUNG toi 0011",
        f"123456.050926.140237.{ref.lower()} hoc phi",
        f"{ref[:5]} {ref[5:]} Nguyễn Ngọc Bảo Anh",  # split by a space, diacritics kept
        f"IBFT {ref[:6]}\n{ref[6:]}",  # wrapped across lines
        f"CT nhanh 247 den: {ref}-050926-14:02:37 884512",
        f"0200970436{ref}.1.140237.hoc.phi",
    ]
    for memo in memos:
        assert payref.find_references(memo) == [ref], memo
    assert payref.find_references(f"{ref} va {other}") == [ref, other]
    assert payref.find_references(f"HP{ref[2:-1]}") == []  # truncated: not found
    assert payref.find_references("TRAN DUC MINH 5A1 NOP TIEN AN THANG 9") == []
