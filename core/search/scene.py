"""The scene record: one scene as a catalogue describes it (Scene), its match to a label (Match), and the one
schema of the rows they become: the match table (CSV_COLUMNS), searchscenes' scene layer (LAYER_FIELDS), the
search dock's table (TABLE_COLUMNS). Rows are read back here too (from_row, row_json_object, row_size), with
errors that name the scene, for downloadscenes, cropscene and anyone reading a search result.
"""
import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from ..util.errors import LabelMigrationError
from .timestamps import as_utc, parse_datetime

PRODUCT_LEVELS = ("L1C", "L2A")
LabelDate = Union[dt.date, dt.datetime]
Row = Mapping[str, object]  # one row of the match table or one feature's attributes of the scene layer
_TILE_IN_NAME = re.compile(r"_T(\d{2}[A-Z]{3})_")


class LayerField(NamedTuple):
    name: str
    type: str  # "string", "int", "long", "double", "bool" or "datetime" (qgis_common.field_types maps them)


# searchscenes' scene layer, in order; downloadscenes, cropscene and the search dock read it by name
LAYER_FIELDS: Tuple[LayerField, ...] = tuple(LayerField(*item) for item in (
    ("id", "string"), ("title", "string"), ("backend", "string"), ("datetime", "datetime"),
    ("cloud_cover", "double"), ("tile", "string"), ("product_type", "string"), ("offset_days", "double"),
    ("coverage_pct", "double"), ("label", "string"), ("rank", "int"), ("online", "bool"), ("url", "string"),
    ("quicklook", "string"), ("size", "long"), ("checksums", "string"), ("assets", "string")))
# the match table (write_matches_csv), in order
CSV_COLUMNS = ("label", "label_date", "id", "title", "backend", "datetime", "offset_days", "cloud_cover",
               "coverage_pct", "tile", "product_type", "rank", "online", "url")
# a list of matches as people read it (the search dock's table), in order
TABLE_COLUMNS = ("label", "rank", "title", "datetime", "cloud_cover", "coverage_pct", "offset_days", "backend")


@dataclass
class Scene:
    id: str
    title: str
    backend: str
    datetime: dt.datetime  # aware UTC
    cloud_cover: Optional[float]
    tile: str
    product_type: str
    footprint_wkt: Optional[str]  # EPSG:4326, lon/lat
    url: Optional[str] = None  # the whole product (SAFE zip, folder) when there is one
    assets: Dict[str, str] = field(default_factory=dict)  # asset name -> href
    checksums: Dict[str, str] = field(default_factory=dict)  # algorithm (MD5, BLAKE3, ...) -> hex digest
    size: Optional[int] = None  # bytes
    quicklook: Optional[str] = None
    online: bool = True
    collection: Optional[str] = None
    band_scales: Dict[str, List[float]] = field(default_factory=dict)  # asset -> [scale, offset] (raster:bands)

    @property
    def level(self) -> Optional[str]:
        return product_level(self.product_type or self.title)

    def to_dict(self) -> Dict[str, object]:
        """Every field, JSON-serialisable (datetime as ISO 8601 text)."""
        data = asdict(self)
        data["datetime"] = self.datetime.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> "Scene":
        """The scene of to_dict() (other keys are ignored)."""
        values = {item.name: data[item.name] for item in fields(cls) if item.name in data}
        values["datetime"] = _moment(values.get("datetime"), str(values.get("title") or values.get("id")))
        return cls(**values)

    def to_row(self) -> Dict[str, object]:
        """The scene's columns as text files write them: unknown numbers blank, online 'true' or 'false',
        checksums and assets as JSON objects."""
        return {"id": self.id, "title": self.title, "backend": self.backend,
                "datetime": self.datetime.strftime("%Y-%m-%dT%H:%M:%SZ"), "cloud_cover": _blank(self.cloud_cover),
                "tile": self.tile, "product_type": self.product_type, "online": "true" if self.online else "false",
                "url": self.url or "", "quicklook": self.quicklook or "", "size": _blank(self.size),
                "checksums": json.dumps(self.checksums) if self.checksums else "",
                "assets": json.dumps(self.assets) if self.assets else ""}

    @classmethod
    def from_row(cls, row: Row) -> "Scene":
        """The scene of a match table row or a scene layer feature's attributes (text as to_row writes it,
        or the layer's typed values); a column that is not there is unknown. Malformed values are errors
        naming the scene."""
        title = short_text(row_text(row.get("title")) or row_text(row.get("id")))
        if not title:
            raise LabelMigrationError("A scene of the search result has neither a title nor an id.")
        return cls(id=row_text(row.get("id")), title=row_text(row.get("title")), backend=row_text(row.get("backend")),
                   datetime=_moment(row.get("datetime"), title), cloud_cover=row_number(row, "cloud_cover", title),
                   tile=row_text(row.get("tile")), product_type=row_text(row.get("product_type")),
                   footprint_wkt=row_text(row.get("footprint_wkt")) or None, url=row_text(row.get("url")) or None,
                   assets=row_json_object(row, "assets", title) or {},
                   checksums=row_json_object(row, "checksums", title) or {}, size=row_size(row, title),
                   quicklook=row_text(row.get("quicklook")) or None, online=_flag(row.get("online"), True))


@dataclass
class Match:
    """A scene found for a label: how far from the label's date, how much of the label it covers, its rank."""
    label: str
    label_date: Optional[LabelDate]
    scene: Scene
    offset_days: Optional[float]
    coverage_pct: Optional[float]  # None when the scene's footprint is unknown
    rank: int = 0

    def to_row(self) -> Dict[str, object]:
        """The match as one row of the match table (CSV_COLUMNS)."""
        row = dict(self.scene.to_row(), label=self.label,
                   label_date=self.label_date.isoformat() if self.label_date else "",
                   offset_days=_blank(self.offset_days), coverage_pct=_blank(self.coverage_pct), rank=self.rank)
        return {name: row[name] for name in CSV_COLUMNS}

    @classmethod
    def from_row(cls, row: Row) -> "Match":
        """The match of a match table row or a scene layer feature's attributes."""
        scene = Scene.from_row(row)
        title = short_text(scene.title or scene.id)
        rank = row_number(row, "rank", title)
        return cls(row_text(row.get("label")), _label_date(row.get("label_date"), title), scene,
                   row_number(row, "offset_days", title), row_number(row, "coverage_pct", title),
                   int(rank) if rank is not None else 0)

    def layer_values(self) -> Dict[str, object]:
        """The match as the scene layer's attributes by name (LAYER_FIELDS): None for unknown numbers,
        datetime aware UTC, checksums and assets as JSON objects."""
        scene = self.scene
        return dict(scene.to_row(), datetime=scene.datetime, cloud_cover=scene.cloud_cover,
                    offset_days=self.offset_days, coverage_pct=self.coverage_pct, label=self.label, rank=self.rank,
                    online=scene.online, size=scene.size)


# -- names --------------------------------------------------------------------------------------

def product_level(text: str) -> Optional[str]:
    """'L1C' or 'L2A' from a product type or name (S2MSI2A, MSIL1C, Level-2A, L2A)."""
    upper = (text or "").upper()
    for level in PRODUCT_LEVELS:
        if level in upper or f"LEVEL-{level[1:]}" in upper or f"MSI{level[1:]}" in upper:
            return level
    return None


def tile_from_name(name: str) -> str:
    match = _TILE_IN_NAME.search(name or "")
    return match.group(1) if match else ""


# -- reading rows -------------------------------------------------------------------------------

def row_text(value) -> str:
    """A row's value as text; '' for None and for QGIS's NULL."""
    return "" if value is None or str(value) == "NULL" else str(value)


def short_text(value, length: int = 80) -> str:
    """A value as messages show it: printable characters only, at most length of them."""
    text = "".join(c if c.isprintable() else "?" for c in row_text(value))
    return text if len(text) <= length else text[:length] + "…"


def row_json_object(row: Row, name: str, title: str) -> Optional[Dict[str, str]]:
    """The row's JSON object field name ({text: text}), None when empty; an error naming the scene when malformed."""
    text = row_text(row.get(name)).strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise LabelMigrationError(f"The {name} field of the scene '{title}' is not valid JSON "
                                  f"({getattr(error, 'msg', error)}): {short_text(text)!r}.") from None
    except RecursionError:
        raise LabelMigrationError(f"The {name} field of the scene '{title}' is nested too deeply to read.") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise LabelMigrationError(f"The {name} field of the scene '{title}' is not a JSON object of texts "
                                  f"(like {{\"MD5\": \"...\"}}): {short_text(text)!r}.")
    return value


def row_size(row: Row, title: str) -> Optional[int]:
    """The row's size in bytes, None when empty; an error naming the scene when it is not a number of bytes."""
    value = row.get("size")
    if not row_text(value):
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if size < 0:
        raise LabelMigrationError(f"The scene '{title}' has a size that is not a number of bytes ({value!r}).")
    return size


def row_number(row: Row, name: str, title: str) -> Optional[float]:
    """The row's number field name, None when empty; an error naming the scene when it is not a number."""
    value = row.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if not row_text(value).strip():
        return None
    try:
        return float(row_text(value))
    except ValueError:
        raise LabelMigrationError(f"The {name} of the scene '{title}' is not a number ({short_text(value)!r}).") \
            from None


def _moment(value, title: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if not row_text(value).strip():
        raise LabelMigrationError(f"The scene '{title}' has no acquisition time (datetime).")
    return parse_datetime(row_text(value))


def _label_date(value, title: str) -> Optional[LabelDate]:
    if isinstance(value, (dt.date, dt.datetime)) or not row_text(value).strip():
        return value if isinstance(value, (dt.date, dt.datetime)) else None
    text = row_text(value).strip()
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else parse_datetime(text)
    except (ValueError, LabelMigrationError):
        raise LabelMigrationError(f"The label date of the scene '{title}' is not a date ({short_text(text)!r}).") \
            from None


def _flag(value, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    text = row_text(value).strip().lower()
    return default if not text else text not in ("false", "0", "no")


def _blank(value: Optional[float]) -> object:
    return "" if value is None else value
