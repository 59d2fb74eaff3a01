import uuid
from datetime import date

from reconciliation.domain.matching import Book, CreditFacts, OpenInvoice, State, decide
from reconciliation.domain.memo import read_memo
from shared import payref

REFS = [payref.make_reference(i) for i in range(10)]


def inv(
    n, total, *, code=None, family="F1", student=None, due=date(2026, 9, 15), allocated=0, cancelled=False, va=None
):
    return OpenInvoice(
        invoice_id=uuid.UUID(int=n),
        student_id=student or uuid.UUID(int=100 + n),
        student_code=code or f"22123450{n:02d}",
        student_name=f"HS {n}",
        family_key=family,
        reference=REFS[n],
        total=total,
        allocated=allocated,
        due_date=due,
        cancelled=cancelled,
        virtual_account=va,
    )


def book(*invoices, groups=None, payers=None):
    return Book({i.invoice_id: i for i in invoices}, groups or {}, payers or {})


def place(memo, amount, b, **kw):
    return decide(CreditFacts(amount, read_memo(memo), **kw), b)


def test_a_reference_in_a_bank_mangled_memo_pays_its_invoice():
    b = book(inv(1, 1_250_000), inv(2, 900_000))
    d = place(f"MBVCB.3278907687.{REFS[1][:4]} {REFS[1][4:]}.NGUYEN NGOC BAO ANH.CT tu 190 toi 001", 1_250_000, b)
    assert (d.state, d.reason_code, d.allocations[0].invoice_id) == (State.MATCHED, "reference", uuid.UUID(int=1))


def test_less_is_partial_more_is_overpaid_and_a_paid_invoice_again_is_a_duplicate():
    b = book(inv(1, 1_000_000))
    partial = place(REFS[1], 400_000, b)
    assert partial.state is State.PARTIAL and partial.allocated == 400_000
    b.apply(partial)
    over = place(REFS[1], 700_000, b)
    assert over.state is State.OVERPAID and over.allocated == 600_000
    b.apply(over)
    dup = place(REFS[1], 1_000_000, b)
    assert dup.state is State.DUPLICATE and dup.allocations == ()


def test_a_mistyped_or_truncated_reference_never_matches_and_says_why():
    b = book(inv(1, 500_000))
    typo = REFS[1][:4] + ("3" if REFS[1][4] != "3" else "4") + REFS[1][5:]
    d = place(f"HOC PHI {typo}", 500_000, b)
    assert (d.state, d.reason_code) == (State.UNMATCHED, "reference_check_failed")
    assert place(f"HOC PHI {REFS[1][:-2]}", 500_000, b).state is State.UNMATCHED


def test_a_cancelled_invoice_is_not_paid():
    d = place(REFS[1], 500_000, book(inv(1, 500_000, cancelled=True)))
    assert (d.state, d.reason_code) == (State.UNMATCHED, "invoice_cancelled")


def test_a_virtual_account_credit_is_that_students_whatever_the_memo_says():
    student = uuid.UUID(int=7)
    b = book(
        inv(1, 300_000, student=student, va="963869001"),
        inv(2, 200_000, student=student, va="963869001", due=date(2026, 10, 15)),
        inv(3, 300_000),
    )
    d = place(f"tien hoc {REFS[3]}", 500_000, b, virtual_account="963869001")
    assert d.state is State.MATCHED and {a.invoice_id.int for a in d.allocations} == {1, 2}


def test_a_family_reference_pays_each_childs_invoice():
    group_ref = payref.make_reference(9, "GD")
    b = book(inv(1, 300_000), inv(2, 450_000), groups={group_ref: [uuid.UUID(int=1), uuid.UUID(int=2)]})
    d = place(f"{group_ref} GIA DINH", 750_000, b)
    assert d.state is State.MATCHED and d.reason_code == "group_reference" and d.allocated == 750_000


def test_without_a_reference_a_student_code_and_the_exact_amount_match():
    b = book(inv(1, 550_000, code="2212345002"), inv(2, 550_000, code="2212345003"))
    d = place("TRAN DUC MINH 2212345002 NOP TIEN AN", 550_000, b)
    assert (d.state, d.reason_code, d.allocations[0].invoice_id.int) == (State.MATCHED, "student_code_amount", 1)
    wrong_amount = place("TRAN DUC MINH 2212345002 NOP TIEN AN", 500_000, b)
    assert wrong_amount.state is State.AMBIGUOUS and wrong_amount.allocations == ()


def test_one_transfer_for_two_children_matches_the_familys_invoices_summing_exactly():
    b = book(inv(1, 550_000, code="2212345002", family="FAM"), inv(2, 700_000, code="2212345009", family="FAM"))
    d = place("NOP HOC PHI CHO 2 CHAU MA 2212345002", 1_250_000, b)
    assert d.state is State.MATCHED and d.reason_code == "family_sum" and d.allocated == 1_250_000


def test_a_payer_account_seen_before_places_a_bare_memo_only_on_an_exact_amount():
    student = uuid.UUID(int=55)
    b = book(inv(1, 550_000, student=student), payers={"19033344455566": {student}})
    assert place("chuyen tien", 550_000, b, payer_account="19033344455566").reason_code == "payer_history"
    assert place("chuyen tien", 551_000, b, payer_account="19033344455566").state is State.AMBIGUOUS


def test_a_memo_with_nothing_to_go_on_is_left_to_the_accountant():
    d = place("TRAN DUC MINH 5A1 NOP TIEN AN THANG 9", 375_000, book(inv(1, 375_000)))
    assert (d.state, d.reason_code, d.allocations) == (State.UNMATCHED, "no_reference", ())


def test_two_references_and_too_little_money_is_ambiguous_not_a_guess():
    b = book(inv(1, 300_000), inv(2, 300_000))
    d = place(f"{REFS[1]} {REFS[2]}", 400_000, b)
    assert d.state is State.AMBIGUOUS and set(d.candidates) == {uuid.UUID(int=1), uuid.UUID(int=2)}
    both = place(f"{REFS[1]} {REFS[2]}", 600_000, b)
    assert both.state is State.MATCHED and both.allocated == 600_000


def test_the_qr_memo_format_is_recognised():
    assert read_memo(f"{REFS[1]} T09 2026").looks_like_qr
    assert not read_memo(f"hoc phi {REFS[1]}").looks_like_qr


def test_one_transfer_for_some_of_a_familys_invoices_matches_the_one_subset_that_adds_up():
    family = [
        inv(1, 550_000, code="2212345002", family="FAM"),
        inv(2, 700_000, code="2212345009", family="FAM"),
        inv(3, 320_000, code="2212345011", family="FAM"),
    ]
    d = place("NOP TIEN 2 CHAU MA 2212345002", 870_000, book(*family))  # 550,000 + 320,000
    assert (d.state, d.reason_code) == (State.MATCHED, "family_sum_subset")
    assert {(a.invoice_id.int, a.amount) for a in d.allocations} == {(1, 550_000), (3, 320_000)}


def test_two_subsets_that_add_up_the_same_are_ambiguous_and_a_large_family_is_not_searched():
    family = [
        inv(n, amount, code=f"22123450{n:02d}", family="FAM")
        for n, amount in ((1, 300_000), (2, 200_000), (3, 100_000), (4, 400_000))
    ]
    d = place("NOP TIEN MA 2212345001", 500_000, book(*family))  # 300+200 or 100+400
    assert d.state is State.AMBIGUOUS and d.reason_code == "family_sum_several" and len(d.candidates) == 4
    many = [inv(n, 100_000 * n, code=f"22123450{n:02d}", family="BIG") for n in range(1, 7)]
    big = place("NOP TIEN MA 2212345001", 300_000 + 500_000, book(*many))
    assert big.state is not State.MATCHED  # six open invoices: beyond the subset search
