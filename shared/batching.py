"""The batch window a hop of the event pipeline waits, and only while its batches are small.

At a district's usual pace credits arrive tens of milliseconds apart: a hop that went as soon as one was there
(the intake's group commit, the outbox relay, a consumer) would pay its transaction, produce or offset commit
per credit. Waiting the window lets the next few join. Under load the batches are large without waiting, and a
wait would only add to every round: so the window is waited only after a small batch.
"""

from __future__ import annotations

from dataclasses import dataclass

# A batch this large shares its fixed cost well enough: the next goes at once.
SMALL_BATCH = 32


@dataclass
class BatchWindow:
    seconds: float = 0.0
    small: int = SMALL_BATCH
    _last: int = 0  # the size of the last batch: a quiet hop starts by waiting

    def wait_s(self) -> float:
        """How long to wait before taking the next batch: the window after a small batch, else nothing."""
        return self.seconds if self.seconds > 0 and self._last < self.small else 0.0

    def took(self, size: int) -> None:
        self._last = size
