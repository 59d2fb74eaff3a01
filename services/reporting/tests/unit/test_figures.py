from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from reporting.domain.figures import InvoiceFacts, figures_of, invoice_collection, quarter_of, split


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


@given(st.integers(0, 3 * 10**6), st.integers(0, 3 * 10**6))
def test_cashless_is_never_more_than_collected_on_any_fee_type(cashless, cash):
    fees = {"meals": 550_000, "services": 150_000, "insurance": 884_520}
    out = invoice_collection(fees, sum(fees.values()), cashless, cash)
    assert all(c_less <= col <= fees[k] for k, (col, c_less) in out.items())
    assert sum(col for col, _ in out.values()) == min(cashless + cash, sum(fees.values()))


def test_an_overpayment_is_not_counted_as_collected_and_cashless_counts_first():
    out = invoice_collection({"meals": 500_000}, 500_000, 400_000, 300_000)
    assert out == {"meals": (500_000, 400_000)}


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
            paid_cashless=600_000,
            paid_cash=0,
            payments=1,
            cashless_payments=1,
        ),
        InvoiceFacts(
            invoice_id="i2",
            school_id="S",
            student_id="st2",
            period="2026-09",
            due_date=date(2026, 9, 15),
            fees={"meals": 400_000},
            total=400_000,
            paid_cashless=0,
            paid_cash=100_000,
            payments=1,
            cashless_payments=0,
        ),
        InvoiceFacts(
            invoice_id="i3",
            school_id="S",
            student_id="st3",
            period="2026-09",
            due_date=date(2026, 10, 15),
            fees={"meals": 500_000},
            total=500_000,
            paid_cashless=0,
            paid_cash=0,
            payments=0,
            cashless_payments=0,
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
    assert (f["students"], f["students_fully_paid"], f["below_target"]) == (3, 1, True)


def test_quarters():
    assert [quarter_of(p) for p in ("2026-01", "2026-03", "2026-04", "2026-09", "2026-12")] == [
        "2026-Q1",
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
        "2026-Q4",
    ]
