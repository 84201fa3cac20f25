"""Progress and cancellation callbacks shared by all core functions."""
from typing import Callable, Optional

from .errors import Cancelled

ProgressCallback = Callable[[float], None]
CancelCheck = Callable[[], bool]


def no_progress(_fraction: float) -> None:
    pass


def never_cancelled() -> bool:
    return False


class Steps:
    """Maps the progress of one step onto its share of a whole job and checks for cancel."""

    def __init__(self, progress: Optional[ProgressCallback], is_cancelled: Optional[CancelCheck]):
        self._progress = progress or no_progress
        self._is_cancelled = is_cancelled or never_cancelled

    def check(self) -> None:
        if self._is_cancelled():
            raise Cancelled()

    def report(self, fraction: float) -> None:
        self._progress(min(1.0, max(0.0, fraction)))
        self.check()

    def sub(self, start: float, end: float) -> "Steps":
        """A Steps object whose 0..1 maps onto start..end of this one."""
        return Steps(lambda f: self.report(start + (end - start) * f), self._is_cancelled)

    def cancelled(self) -> bool:
        return bool(self._is_cancelled())

    def gdal_callback(self):
        """A GDAL progress callback: reports progress and stops GDAL when cancelled."""

        def callback(fraction, _message, _data):
            if self._is_cancelled():
                return 0
            self._progress(min(1.0, max(0.0, fraction)))
            return 1

        return callback
