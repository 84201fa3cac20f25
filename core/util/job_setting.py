"""A process-wide value that a job puts in force for its duration (limits, proxy, GDAL's HTTP options).

Every thread of the job sees it (a migration's pool threads included). Jobs may overlap (QGIS runs
algorithms as parallel background tasks) or nest (a model runs its child algorithms inside its own
run): the most recent job still running wins, and a job that ends removes only its own layer, so it
never takes a value away from a job that is still running.
"""
import threading
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, Optional, Tuple, TypeVar

T = TypeVar("T")


class JobSetting(Generic[T]):
    def __init__(self, default: T, on_change: Optional[Callable[[Optional[T]], None]] = None):
        """on_change(value) runs (under a lock) whenever the value in force changes; None when no job
        holds one any more."""
        self._default = default
        self._on_change = on_change
        self._layers: Tuple[Tuple[object, T], ...] = ()
        self._lock = threading.Lock()

    def current(self) -> T:
        layers = self._layers
        return layers[-1][1] if layers else self._default

    @contextmanager
    def using(self, value: T) -> Iterator[T]:
        token = object()
        with self._lock:
            self._layers = self._layers + ((token, value),)
            self._changed()
        try:
            yield value
        finally:
            with self._lock:
                self._layers = tuple(layer for layer in self._layers if layer[0] is not token)
                self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self._layers[-1][1] if self._layers else None)
