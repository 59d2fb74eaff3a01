import uuid
from datetime import UTC, date, datetime, timedelta

from reconciliation.domain.dedup import DedupIndex, Known

KEY = ("001", 500_000, date(2026, 9, 5))
T0 = datetime(2026, 9, 5, 3, tzinfo=UTC)


def known(memo: str, *, ids=(), refs=(), sources=("webhook_sepay",), minutes=0) -> Known:
    return Known(
        credit_id=uuid.uuid4(),
        booked_at=T0 + timedelta(minutes=minutes),
        memo_compact=memo,
        memo_refs=frozenset(refs),
        identifiers=set(ids),
        sources=set(sources),
    )


def find(index, memo="", ids=(), refs=(), source="camt054"):
    return index.find(KEY, identifiers=set(ids), memo_compact=memo, memo_refs=frozenset(refs), source_kind=source)


def test_a_shared_identifier_is_the_same_credit_whatever_the_memo():
    index = DedupIndex()
    k = known("HOCPHI", ids={"FT1"})
    index.add(KEY, k)
    assert find(index, "SOMETHINGELSE", ids={"FT1"}, source="webhook_sepay") is k


def test_a_memo_cut_short_by_the_bank_is_the_same_credit():
    index = DedupIndex()
    k = known("MBVCB3278907687HP3C4D6F7G9HOCPHIT9CTTU1903")
    index.add(KEY, k)
    assert find(index, "MBVCB3278907687HP3C4D") is k
    assert find(index, "MBVCB3278907687HP3C4D", source="webhook_sepay") is None  # same kind of source: another one


def test_identical_transfers_pair_one_to_one_in_order():
    index = DedupIndex()
    first, second = known("HP3C4D6F7G9T092026", minutes=1), known("HP3C4D6F7G9T092026", minutes=2)
    index.add(KEY, second)
    index.add(KEY, first)
    assert find(index, "HP3C4D6F7G9T092026") is first
    first.sources.add("camt054")
    assert find(index, "HP3C4D6F7G9T092026") is second
    second.sources.add("camt054")
    assert find(index, "HP3C4D6F7G9T092026") is None


def test_short_memos_without_a_reference_are_never_merged():
    index = DedupIndex()
    index.add(KEY, known("HOCPHI"))
    assert find(index, "HOCPHI") is None


def test_thousands_of_same_amount_credits_stay_fast():
    index = DedupIndex()
    for n in range(20_000):
        index.add(KEY, known(f"MBVCB{n:010d}HOCPHI", ids={f"FT{n}"}))
    assert find(index, "MBVCB0000019999HOCPHI") is not None


def test_a_day_of_memos_alike_at_the_start_finds_only_the_one_that_is_the_same_credit():
    # Month start: a bank's memos share their first characters (MBVCB + a running number); the one stored
    # credit that is this memo cut short (or that this memo cuts short) is found among thousands.
    index = DedupIndex()
    stored = [known(f"MBVCB2630{n:06d}HP3C4D6F7G9T112026CTTU1903") for n in range(3000)]
    for k in stored:
        index.add(KEY, k)
    assert find(index, "MBVCB2630001234HP3C4D6F7G9T112026") is stored[1234]  # the bank cut the memo short
    short = known("MBVCB2630009999HP3C4D", sources=("camt054",))
    index.add(KEY, short)
    assert find(index, "MBVCB2630009999HP3C4D6F7G9T112026CTTU1903", source="webhook_sepay") is short
    assert find(index, "MBVCB2630012345HP3C4D6F7G9T112026CTTU1903") is None  # a transfer never stored
    assert index._same_memo(KEY, "MBVCB2630001234HP3C4D6F7") == [stored[1234]]
