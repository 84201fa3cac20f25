"""Acquisition dates of labels, from file names or raster metadata."""
import datetime as dt
import os
import re
from typing import Iterable, Optional

# 20200812, 2020-08-12, 2020_08_12 (not inside a longer run of digits)
_DATE_IN_TEXT = re.compile(r"(?<!\d)((?:19|20)\d{2})([-_.]?)(\d{2})\2(\d{2})(?!\d)")
# TIFFTAG_DATETIME style: 2020:08:12 10:15:12
_EXIF_DATE = re.compile(r"^\s*((?:19|20)\d{2})[:-](\d{2})[:-](\d{2})")

DATE_METADATA_KEYS = ("LABEL_DATE", "ACQUISITION_DATE", "DATE_ACQUIRED", "DATETIME", "TIFFTAG_DATETIME")


def date_in_text(text: str) -> Optional[dt.date]:
    """The first valid calendar date written as YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD in text."""
    for match in _DATE_IN_TEXT.finditer(text or ""):
        year, _sep, month, day = match.groups()
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None


def date_from_name(path: str) -> Optional[dt.date]:
    return date_in_text(os.path.basename(path))


def date_from_metadata(metadata: dict) -> Optional[dt.date]:
    for key in DATE_METADATA_KEYS:
        value = metadata.get(key)
        if not value:
            continue
        match = _EXIF_DATE.match(value)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                continue
    return None


def first_date(candidates: Iterable[Optional[dt.date]]) -> Optional[dt.date]:
    return next((date for date in candidates if date is not None), None)
