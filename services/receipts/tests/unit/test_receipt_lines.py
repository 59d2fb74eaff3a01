from hypothesis import given
from hypothesis import strategies as st

from receipts.domain.receipt import EXCESS_LINE, Line, lines_paid

INVOICE = [("Tiền ăn bán trú", 550_000), ("Chăm sóc bán trú", 150_000), ("Bảo hiểm y tế", 884_520), ("Học phí", 0)]
TOTAL = 1_584_520


def test_a_partial_payment_shows_its_part_of_each_line_never_the_invoices_full_lines():
    # 500,000 of 1,584,520 over 550,000 / 150,000 / 884,520: 173,554.136 / 47,332.946 / 279,112.917. The
    # floors make 499,998; the two đồng left go to the largest remainders (.946, .917):
    # 173,554 + 47,333 + 279,113 = 500,000.
    assert lines_paid(INVOICE, TOTAL, 500_000) == (
        Line("Tiền ăn bán trú", 173_554),
        Line("Chăm sóc bán trú", 47_333),
        Line("Bảo hiểm y tế", 279_113),
    )
    assert lines_paid(INVOICE, TOTAL, TOTAL) == tuple(Line(n, a) for n, a in INVOICE if a)


def test_an_adjusted_invoice_paid_whole_shows_the_adjustment_and_an_excess_its_own_line():
    adjusted = [*INVOICE, ("Điều chỉnh: nghỉ 2 ngày", -50_000)]
    lines = lines_paid(adjusted, TOTAL - 50_000, TOTAL - 50_000)
    assert lines[-1] == Line("Điều chỉnh: nghỉ 2 ngày", -50_000) and sum(x.amount for x in lines) == TOTAL - 50_000
    assert lines_paid(INVOICE, TOTAL, TOTAL + 20_000)[-1] == Line(EXCESS_LINE, 20_000)


@given(st.lists(st.integers(0, 5_000_000), min_size=1, max_size=6), st.integers(1, 10_000_000))
def test_a_receipts_lines_add_up_to_the_amount_received_and_a_part_never_exceeds_its_line(amounts, amount):
    invoice = [(f"Khoản {i}", a) for i, a in enumerate(amounts)]
    total = sum(amounts)
    lines = lines_paid(invoice, total, amount)
    assert sum(line.amount for line in lines) == amount
    if amount < total:
        asked = dict(invoice)
        assert all(0 < line.amount <= asked[line.name] for line in lines)
