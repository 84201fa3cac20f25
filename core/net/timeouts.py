"""The timeouts in force for one request (connect, read, the retry deadline, stalls) and the stall watch of a
transfer; the values come from core.util.limits unless a caller gives one timeout."""
import time
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from ..util import limits


@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float
    deadline: float  # all tries of one request end this long after the first began
    stall: float
    ends: float = float("inf")  # time.monotonic() when the current request's deadline passes
    configured: Optional[Tuple[float, float]] = None  # (connect, read) before within() shortened them

    def within(self, remaining: float) -> "Timeouts":
        """These timeouts, none longer than the time left before the deadline (at least 0.1 s)."""
        left = max(0.1, remaining)
        return Timeouts(min(self.connect, left), min(self.read, left), self.deadline, self.stall,
                        time.monotonic() + left, self.configured or (self.connect, self.read))

    def named(self) -> Tuple[float, float]:
        """(connect, read) as the settings (or the caller) give them, for messages."""
        return self.configured or (self.connect, self.read)


def timeouts(timeout: Optional[float] = None) -> Timeouts:
    """The timeouts in force; an explicit timeout (a caller's) is both the connect and read timeout."""
    now = limits.current()
    connect, read = (now.connect_timeout_s, now.read_timeout_s) if timeout is None else (timeout, timeout)
    return Timeouts(float(connect), float(read), float(now.retry_deadline_s), float(now.stall_timeout_s))


class StallWatch:
    """Tells a stalled transfer: one that brought fewer than min_bytes in the last `seconds`."""

    def __init__(self, seconds: float, min_bytes: int = limits.STALL_MIN_BYTES,
                 clock: Callable[[], float] = time.monotonic):
        self.seconds, self.min_bytes, self.clock = seconds, min_bytes, clock
        self.start, self.bytes = clock(), 0

    def stalled(self, received: int) -> bool:
        """Count received bytes; True when a window of `seconds` ended with too few bytes."""
        self.bytes += received
        now = self.clock()
        if now - self.start < self.seconds:
            return False
        too_few = self.bytes < self.min_bytes
        self.start, self.bytes = now, 0
        return too_few

    def message(self) -> str:
        return (f"the transfer stalled (fewer than {self.min_bytes // 1024} KiB in {self.seconds:g} s"
                f", or {limits.raise_hint('stall_timeout_s')})")
