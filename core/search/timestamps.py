"""Catalogue times: aware UTC datetimes, parsed from and written as the ISO 8601 texts catalogues use."""
import datetime as dt
import re

from ..util.errors import LabelMigrationError


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def parse_datetime(text: str) -> dt.datetime:
    """An ISO 8601 time as catalogues write it ('2020-08-08T01:03:11.024000Z', '...+00:00') in UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    match = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", value)
    if match and match.group(2):  # fromisoformat wants 3 or 6 fraction digits before 3.11
        value = match.group(1) + (match.group(2) + "000000")[:7] + match.group(3)
    try:
        return as_utc(dt.datetime.fromisoformat(value))
    except ValueError:
        raise LabelMigrationError(f"'{text}' is not a date and time the search understands.") from None


def iso_z(moment: dt.datetime) -> str:
    """Milliseconds and Z, as catalogue queries take it: '2020-08-08T01:03:11.024Z'."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.") + f"{as_utc(moment).microsecond // 1000:03d}Z"


def interval_string(start: dt.datetime, end: dt.datetime) -> str:
    return f"{iso_z(start)}/{iso_z(end)}"
