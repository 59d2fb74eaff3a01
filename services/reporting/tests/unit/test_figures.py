from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.figures import InvoiceFacts, counted, figures_of, invoice_collection, quarter_of, split


@given(
    st.integers(0, 10**10),
    st.dictionaries(st.sampled_from(["tuition", "meals", "services", "insurance"]), st.integers(0, 10**8), min_size=1),
)
def test_a_split_adds_up_to_the_dong_and_never_exceeds_a_share(amount, weights):
    total = sum(weights.values())
    amount = min(amount, total)
    parts = split(amount, weights)
    assert sum(parts.values()) == (amount if total else 0)
    assert all(0 <= parts[k] <= weights[k] for k in weights)


@given(st.lists(st.tuples(st.integers(0, 2 * 10**6), st.booleans()), max_size=6))
def test_cashless_is_never_more_than_collected_on_any_fee_type(paid):
    fees = {"meals": 550_000, "services": 150_000, "insurance": 884_520}
    out = invoice_collection(fees, sum(fees.values()), paid)
    assert all(c_less <= col <= fees[k] for k, (col, c_less) in out.items())
    assert sum(col for col, _ in out.values()) == min(sum(a for a, _ in paid), sum(fees.values()))
    # Every đồng counted comes from a payment of its channel: never more cashless than was paid cashless.
    assert sum(c for _, c in out.values()) <= sum(a for a, cashless in paid if cashless)
    assert sum(col - c for col, c in out.values()) <= sum(a for a, cashless in paid if not cashless)


def test_each_dong_counts_by_the_channel_that_paid_it_and_the_excess_is_the_last_money_in():
    # 1,000,000 owed: 400,000 in cash, then 700,000 by transfer. 100,000 of the transfer is a balance.
    assert counted(1_000_000, [(400_000, False), (700_000, True)]) == (1_000_000, 600_000)
    # The other way round: the transfer fills 700,000 and only 300,000 of the cash is collected.
    assert counted(1_000_000, [(700_000, True), (400_000, False)]) == (1_000_000, 700_000)
    # Before: "cashless first" counted the first case fully cashless (1,000,000). Not any more.
    out = invoice_collection({"meals": 500_000}, 500_000, [(400_000, True), (300_000, False)])
    assert out == {"meals": (500_000, 400_000)}
    assert counted(500_000, [(300_000, False), (400_000, True)]) == (500_000, 200_000)


def test_figures_of_a_small_school():
    today = date(2026, 10, 1)
    invoices = [
        InvoiceFacts(
            invoice_id="i1",
            school_id="S",
            student_id="st1",
            period="2026-09",
            due_date=date(2026, 9, 15),
            fees={"meals": 600_000},
            total=600_000,
            paid=((600_000, True),),
        ),
        InvoiceFacts(
            invoice_id="i2",
            school_id="S",
            student_id="st2",
            period="2026-09",
            due_date=date(2026, 9, 15),
            fees={"meals": 400_000},
            total=400_000,
            paid=((100_000, False),),
        ),
        InvoiceFacts(
            invoice_id="i3",
            school_id="S",
            student_id="st3",
            period="2026-09",
            due_date=date(2026, 10, 15),
            fees={"meals": 500_000},
            total=500_000,
            paid=(),
        ),
    ]
    f = figures_of(invoices, today=today).as_dict()
    assert (f["invoiced"], f["collected"], f["cashless"], f["cash"], f["outstanding"], f["overdue"]) == (
        1_500_000,
        700_000,
        600_000,
        100_000,
        800_000,
        300_000,
    )
    assert (f["collection_rate_pct"], f["cashless_share_pct"], f["cashless_share_by_count_pct"]) == (46.7, 85.7, 50.0)
    assert (f["students"], f["students_fully_paid"]) == (3, 1)


def test_quarters():
    assert [quarter_of(p) for p in ("2026-01", "2026-03", "2026-04", "2026-09", "2026-12")] == [
        "2026-Q1",
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
        "2026-Q4",
    ]
