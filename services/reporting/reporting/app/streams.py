"""Live streams of the dashboard, bounded: a token holds a few at most, a process a bounded number, and every
stream ends when its token expires or is revoked (checked each tick against the revocation list in memory).

A stream costs a connection and a database read a second; without the bounds one token could hold thousands
(each slowing every dashboard), and a revoked token would keep watching until the viewer closed the tab.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.errors import DomainError

# Tabs a person keeps open on the dashboard, with room to spare.
PER_TOKEN = 4
# Far above a district's officers and accountants watching at once; far below what would tire one process.
PER_PROCESS = 500


class TooManyStreams(DomainError):
    status = 429


@dataclass
class Streams:
    """The live streams of one process (the service runtime holds one)."""

    per_token: int = PER_TOKEN
    per_process: int = PER_PROCESS
    _open: Counter[str] = field(default_factory=Counter)

    @property
    def open(self) -> int:
        return sum(self._open.values())

    def take(self, token_id: str) -> Callable[[], None]:
        """One stream for this token; refused past either bound. Returns its release, which may be called any
        number of times (the stream's end, and the collection of a stream never started) and counts once."""
        if self._open[token_id] >= self.per_token:
            raise TooManyStreams(
                f"Tài khoản này đã mở {self.per_token} luồng cập nhật trực tiếp: đóng bớt một thẻ trang tổng hợp."
            )
        if self.open >= self.per_process:
            raise TooManyStreams("Các luồng cập nhật trực tiếp của trang tổng hợp đang bận hết: thử lại sau ít phút.")
        self._open[token_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self._open[token_id] -= 1
            if not self._open[token_id]:
                del self._open[token_id]

        return release
