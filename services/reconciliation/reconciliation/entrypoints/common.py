"""What reconciliation's routes share: a credit as the queue and the list show it."""

from __future__ import annotations

from reconciliation.app.intake.channels import Intake
from reconciliation.settings import ReconciliationSettings
from reconciliation.stores.credits_store import ShownCredit
from shared.schemas import Row, model_of
from shared.service import ServiceRuntime

_CREDIT = model_of(
    ShownCredit,
    base=Row,
    described={
        "first_source": "the kind of source that delivered it first (webhook_sepay, camt054, …)",
        "memo_refs": "the payment references read in the memo",
        "recorded_by": "cash: the account that recorded it",
        "balance_family": "kept as this family's credit balance",
        "candidates": "the invoices it may pay (the queue: each with what is still owed)",
        "suggestions": "the queue only, for a credit without candidates: open invoices whose pupil the memo "
        "names, or whose reference is one character from one in the memo (why: name | reference_one_off)",
    },
    more={"unallocated": int},
)


class Credit(_CREDIT):  # type: ignore[misc,valid-type]
    """A credit as the accountant reads it."""


def _new_intake(rt: ServiceRuntime) -> Intake:
    settings = rt.settings_as(ReconciliationSettings)
    return Intake(rt.db(), rt.outbox, settings.sealer(), window_s=settings.batch_window_s)


def intake_of(rt: ServiceRuntime) -> Intake:
    """The runtime's intake: its queue and the webhook secrets it keeps."""
    return rt.keep(Intake, _new_intake)
