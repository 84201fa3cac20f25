"""Acquisition dates of labels, from file names or raster metadata."""
import _sre
import datetime as dt
import os
import re
from typing import Iterable, Optional

from .errors import LabelMigrationError

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


# -- user-given date patterns (DATE_PATTERN) --------------------------------------------------------------
MAX_PATTERN_LENGTH = 300
_NESTED_LIMIT = 256  # product of the repeat counts of nested repetitions a pattern may hold
_MANY = 16  # a repetition of more than this counts as unbounded
_MAX_UNBOUNDED = 3  # unbounded repetitions in one pattern (each multiplies the work on a failing name)
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
_EXAMPLE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"


def compile_date_pattern(pattern: Optional[str]) -> Optional["re.Pattern"]:
    """DATE_PATTERN compiled, or a LabelMigrationError saying what is wrong with it.

    Python's regular expressions cannot be interrupted, so a pattern that could backtrack for ever on
    some file name (nested repetition such as (a+)+, alternatives under unbounded repetition) is
    refused before it is used."""
    if not pattern:
        return None
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise LabelMigrationError(f"The date pattern is {len(pattern)} characters long; at most "
                                  f"{MAX_PATTERN_LENGTH} are accepted.")
    try:
        compiled = re.compile(pattern)
        problem = _backtracking_problem(_parse(pattern))
    except (re.error, RecursionError, OverflowError) as error:
        raise LabelMigrationError(f"The date pattern '{pattern}' is not a valid regular expression: {error}.") from None
    if problem:
        raise LabelMigrationError(
            f"The date pattern '{pattern}' {problem}, which can make matching take practically for ever on some "
            f"file names. Write it without that, for example {_EXAMPLE}.")
    return compiled


def _parse(pattern: str):
    try:
        from re import _parser as parser  # Python 3.11+
    except ImportError:  # pragma: no cover (Python < 3.11)
        import sre_parse as parser
    return parser.parse(pattern)


def _backtracking_problem(tree) -> Optional[str]:
    unbounded = []

    def walk(node, outer: float) -> Optional[str]:
        for op, value in node:
            name = str(op)
            inner = outer
            if name in _REPEATS:
                count = value[1] if value[1] < _sre.MAXREPEAT else float("inf")  # MAXREPEAT: unbounded
                if count > _MANY:
                    unbounded.append(name)
                if count > 1 and outer > 1 and outer * count > _NESTED_LIMIT:
                    return "repeats a part that itself repeats (nested repetition such as (a+)+)"
                inner = outer * count if count > 1 else outer
            elif name == "BRANCH" and outer > _MANY:
                return "repeats alternatives without bound (such as (a|ab)*)"
            for child in _children(value):
                problem = walk(child, inner)
                if problem:
                    return problem
        return None

    problem = walk(tree, 1)
    if problem is None and len(unbounded) > _MAX_UNBOUNDED:
        problem = f"has {len(unbounded)} unbounded repetitions (at most {_MAX_UNBOUNDED} are accepted)"
    return problem


def _children(value) -> Iterable:
    """The sub-patterns inside one parsed element's arguments."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    for item in items:
        if hasattr(item, "data"):  # a SubPattern
            yield item
        elif isinstance(item, list):
            yield from (entry for entry in item if hasattr(entry, "data"))
