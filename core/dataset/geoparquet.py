"""The GeoParquet index of the chips (chips.parquet), written with pyarrow (an optional package).

GeoParquet 1.1.0: the outline of each chip as a WKB Polygon in the column 'geometry', in OGC:CRS84
(longitude/latitude, so the ``crs`` key is omitted, as the specification allows), counter-clockwise,
with a 'bbox' struct column declared as its covering. The file's key-value metadata 'geo' says so.
Each row names the chip's image, label and cloud-mask files (relative to the dataset folder), its
split, CRS, window in its pair and provenance: enough for a training script to read the chips.
"""
import json
import struct
from typing import Dict, List, Sequence

from ..install.dependencies import require
from .records import Chip, ring_box

INDEX_NAME = "chips.parquet"
GEOPARQUET_VERSION = "1.1.0"
PURPOSE = "Writing the GeoParquet index of an exported dataset (exportdataset)"


def require_pyarrow():
    """pyarrow, or a MissingDependency saying exactly what to install."""
    require("pyarrow", PURPOSE)
    return require("pyarrow.parquet", PURPOSE)


def polygon_wkb(ring) -> bytes:
    """A closed ring as an ISO WKB Polygon (little-endian)."""
    return struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring)) + b"".join(
        struct.pack("<dd", float(x), float(y)) for x, y in ring)


def geo_metadata(chips: Sequence[Chip]) -> Dict[str, object]:
    boxes = [ring_box(chip.ring) for chip in chips]
    bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes)] if boxes else []
    column = {"encoding": "WKB", "geometry_types": ["Polygon"], "orientation": "counterclockwise",
              "edges": "planar",
              "covering": {"bbox": {"xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
                                    "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"]}}}
    if bbox:
        column["bbox"] = bbox
    return {"version": GEOPARQUET_VERSION, "primary_column": "geometry", "columns": {"geometry": column}}


def write_index(path: str, chips: Sequence[Chip], score_columns: Sequence[str]) -> str:
    """Write the index of chips to path (pyarrow needed: require_pyarrow)."""
    pq = require_pyarrow()
    import pyarrow as pa

    rows: Dict[str, List[object]] = {name: [] for name in (
        "id", "split", "image", "label", "cloud_mask", "datetime", "crs", "pair_image", "pair_label",
        "pair_xoff", "pair_yoff", "size", "native_bounds")}
    provenance: Dict[str, List[object]] = {}
    for chip in chips:
        for name, value in (("id", chip.id), ("split", chip.split), ("image", chip.image), ("label", chip.label),
                            ("cloud_mask", chip.mask), ("datetime", chip.pair.row.get("datetime") or None),
                            ("crs", chip.crs), ("pair_image", chip.pair.row.get("image")),
                            ("pair_label", chip.pair.row.get("label_raster")), ("pair_xoff", chip.xoff),
                            ("pair_yoff", chip.yoff), ("size", chip.size), ("native_bounds", list(chip.place.bounds))):
            rows[name].append(value)
        for name, value in chip.provenance(score_columns).items():
            provenance.setdefault(name, []).append(value)
    types = {"pair_xoff": pa.int32(), "pair_yoff": pa.int32(), "size": pa.int32(),
             "native_bounds": pa.list_(pa.float64(), 4)}
    columns = {name: pa.array(values, type=types.get(name, pa.string())) for name, values in rows.items()}
    for name, values in provenance.items():
        columns[name] = pa.array(values, type=pa.string() if name in ("source_label", "scene") else pa.float64())
    boxes = [ring_box(chip.ring) for chip in chips]
    columns["bbox"] = pa.StructArray.from_arrays(
        [pa.array([b[i] for b in boxes], type=pa.float64()) for i in range(4)], names=["xmin", "ymin", "xmax", "ymax"])
    columns["geometry"] = pa.array([polygon_wkb(chip.ring) for chip in chips], type=pa.binary())
    table = pa.table(columns)
    metadata = dict(table.schema.metadata or {})
    metadata[b"geo"] = json.dumps(geo_metadata(chips)).encode("utf-8")
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")
    return path


def read_index(path: str) -> List[Dict[str, object]]:
    """The rows of an index as dicts (the geometry as WKB bytes)."""
    return require_pyarrow().read_table(path).to_pylist()
