"""A label's row of matches.csv as the run makes it, and errors as the one-line reasons in it."""
from typing import Dict

from .match_table import COLUMNS


def match_row(name: str, **values) -> Dict[str, str]:
    """Every column of matches.csv, empty but for the label's name and ``values`` (numbers to 3 decimals)."""
    row = {column: "" for column in COLUMNS}
    row["label"] = name
    for key, value in values.items():
        row[key] = "" if value is None else (f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float)
                                             else str(value))
    return row


def one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__
