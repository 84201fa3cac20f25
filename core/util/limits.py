"""Limits that keep a hostile or mistaken input from hanging a run or exhausting memory.

One set of limits is in force at a time (every thread of a job sees it): the defaults below, or
what the QGIS adapter reads from the plugin's settings for the duration of an algorithm run
(:func:`using`). Each limit has a name the user can look up and raise; the checks raise a
LabelMigrationError that says which limit stopped the run and how to go on.
"""
import os
from dataclasses import dataclass, fields, replace
from typing import ContextManager, Optional

from .errors import LabelMigrationError
from .job_setting import JobSetting


@dataclass(frozen=True)
class Limits:
    max_megapixels: float = 10_000.0  # pixels (width x height) of one raster an algorithm reads or writes
    max_memory_mb: float = 0.0  # one array in memory; 0 = half of the machine's memory
    max_metadata_mb: float = 64.0  # one metadata file (XML, JSON) read into memory
    connect_timeout_s: float = 20.0  # to open a connection
    read_timeout_s: float = 60.0  # waiting for the next bytes of an answer
    stall_timeout_s: float = 120.0  # a download that brings under STALL_MIN_BYTES in this time is stalled
    retry_deadline_s: float = 300.0  # retries of one request stop this long after the first try
    # where the user raises a limit, as the adapter words it; {NAME} is the limit's name in capitals
    where_to_change: str = "in the plugin's settings"

    def memory_bytes(self) -> float:
        if self.max_memory_mb > 0:
            return self.max_memory_mb * 1e6
        return physical_memory_bytes() / 2


STALL_MIN_BYTES = 16 * 1024  # a transfer that moves fewer bytes than this in stall_timeout_s is stalled
SETTING_TITLES = {  # the settings as the user sees them (the adapter registers them under these titles)
    "max_megapixels": "Largest raster (megapixels)",
    "max_memory_mb": "Largest array in memory (MB, 0 = half the memory)",
    "max_metadata_mb": "Largest metadata file (MB)",
    "connect_timeout_s": "Connection timeout (s)",
    "read_timeout_s": "Read timeout (s)",
    "stall_timeout_s": "Stalled download timeout (s)",
    "retry_deadline_s": "Give up retrying after (s)",
}
LIMIT_NAMES = tuple(field.name for field in fields(Limits) if field.name != "where_to_change")

_IN_FORCE = JobSetting(Limits())


def current() -> Limits:
    return _IN_FORCE.current()


def using(limits: Optional[Limits]) -> ContextManager[Limits]:
    """Put limits in force for the duration of a job (all threads; see core.util.job_setting); None keeps
    those in force."""
    return _IN_FORCE.using(limits or current())


def with_values(**values: float) -> Limits:
    """The limits in force with some values changed (tests, scripts)."""
    return replace(current(), **values)


def physical_memory_bytes() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        return 8e9


def raise_hint(name: str) -> str:
    """'raise <the setting's title> <where>' for a limit's name (a field of Limits)."""
    return f"raise '{SETTING_TITLES[name]}' {current().where_to_change.format(NAME=name.upper())}"


def check_pixels(width: int, height: int, what: str, advice: str = "crop it first") -> None:
    """Refuse a raster of more than max_megapixels before any pixel is read or written."""
    limit = current().max_megapixels
    megapixels = float(width) * float(height) / 1e6
    if megapixels > limit:
        raise LabelMigrationError(
            f"{what} is {width:,} x {height:,} pixels ({megapixels:,.0f} megapixels), more than the limit of "
            f"{limit:,.0f} megapixels. To go on, {advice}, or {raise_hint('max_megapixels')}.")


def megabytes(nbytes: float) -> str:
    """A size in words: '1,074 MB', '2.0 MB', '0.0123 MB'."""
    value = nbytes / 1e6
    if value >= 10:
        return f"{value:,.0f} MB"
    return f"{value:.1f} MB" if value >= 0.1 else f"{value:.3g} MB"


def check_memory(nbytes: float, what: str, advice: str = "use a smaller window or tile") -> None:
    """Refuse an allocation larger than the memory limit before making it."""
    limit = current().memory_bytes()
    if nbytes > limit:
        raise LabelMigrationError(
            f"{what} would need {megabytes(nbytes)} of memory, more than the limit of {megabytes(limit)}. "
            f"To go on, {advice}, or {raise_hint('max_memory_mb')}.")


def check_metadata_size(nbytes: float, what: str) -> None:
    """Refuse a metadata file (XML, JSON) larger than max_metadata_mb before reading it."""
    limit = current().max_metadata_mb * 1e6
    if nbytes > limit:
        raise LabelMigrationError(
            f"{what} is {megabytes(nbytes)}, more than the limit of {megabytes(limit)} for a metadata file "
            f"(real ones are well under 5 MB): the file is damaged or hostile. If it is genuine, "
            f"{raise_hint('max_metadata_mb')}.")
