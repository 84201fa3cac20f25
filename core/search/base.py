"""The search parameters every backend and every caller shares: the defaults, the label query, the window,
the product level, the backend interface and the filters a backend applies to what a catalogue answers."""
import datetime as dt
from dataclasses import dataclass
from typing import List, Optional, Protocol

from ..util.errors import LabelMigrationError
from ..util.progress import CancelCheck, ProgressCallback
from .scene import PRODUCT_LEVELS, LabelDate, Scene
from .timestamps import as_utc

MAX_WINDOW_DAYS = 3650  # days before or after a label's date (ten years: Sentinel-2 flies since 2015)
# The search parameters' defaults, one for each, shared by searchscenes, migratelabels and the dock:
DEFAULT_DAYS_BEFORE = 10  # the window around a label's date (a ~5-day revisit gives about four passes)
DEFAULT_DAYS_AFTER = 10
# Scene-wide cloud cover (%) is only a pre-filter: migratelabels rates the cloud over each label's own footprint
# among the scenes that pass, and a scene cloudy elsewhere is often clear over the label, so a strict scene-wide
# limit loses usable scenes; searchscenes ranks the scenes that pass by coverage, then cloud cover.
DEFAULT_MAX_CLOUD = 30.0
DEFAULT_PRODUCT = "L2A"


@dataclass
class FootprintQuery:
    """One label to find scenes for: its name, outline (WKT, EPSG:4326 lon/lat) and date."""
    label: str
    geometry_wkt: str
    date: Optional[LabelDate]


@dataclass
class SearchWindow:
    """Acquisition window, both ends aware UTC and inclusive."""
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self):
        self.start, self.end = as_utc(self.start), as_utc(self.end)
        if self.start > self.end:
            raise LabelMigrationError(
                f"The search window starts ({self.start:%Y-%m-%d %H:%M}) after it ends ({self.end:%Y-%m-%d %H:%M}); "
                f"check DAYS_BEFORE and DAYS_AFTER."
            )

    @classmethod
    def around(cls, date: LabelDate, days_before: float = DEFAULT_DAYS_BEFORE,
               days_after: float = DEFAULT_DAYS_AFTER) -> "SearchWindow":
        """The window from days_before before date to days_after after it; a bare date covers its whole day."""
        if isinstance(date, dt.datetime):
            first = last = as_utc(date)
        else:
            first = dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)
            last = first + dt.timedelta(days=1) - dt.timedelta(microseconds=1000)
        return cls(first - dt.timedelta(days=days_before), last + dt.timedelta(days=days_after))


class SearchBackend(Protocol):
    name: str
    url: str

    def search(self, geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float],
               product: Optional[str], collection: Optional[str], progress: Optional[ProgressCallback],
               is_cancelled: Optional[CancelCheck]) -> List[Scene]:
        ...


def check_window_days(days_before: float, days_after: float) -> None:
    """Refuse a search window reaching more than MAX_WINDOW_DAYS (or less than 0) days either side."""
    for side, days in (("before", days_before), ("after", days_after)):
        if not 0 <= days <= MAX_WINDOW_DAYS:  # also NaN
            raise LabelMigrationError(
                f"The search window may reach 0 to {MAX_WINDOW_DAYS} days {side} the label date "
                f"(DAYS_{side.upper()}), not {days:g}.")


def check_product(product: Optional[str]) -> Optional[str]:
    if product is None or product == "":
        return None
    level = product.strip().upper()
    if level not in PRODUCT_LEVELS:
        raise LabelMigrationError(f"The product level '{product}' is unknown; use L1C or L2A.")
    return level


def scene_passes(scene: Scene, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float],
                 product: Optional[str]) -> bool:
    """The filters every backend applies (servers are not trusted to have applied them)."""
    if not as_utc(start) <= scene.datetime <= as_utc(end):
        return False
    if max_cloud is not None and scene.cloud_cover is not None and scene.cloud_cover > max_cloud:
        return False
    level = check_product(product)
    return level is None or scene.level is None or scene.level == level
