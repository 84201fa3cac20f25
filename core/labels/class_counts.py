"""Pixels and area per class of a class raster, streamed, as a table."""
import csv
import io
from typing import Dict, List, Optional

import numpy as np

from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import pixel_area, srs_of
from ..util.raster_read import open_raster, read_check, row_strips, strip_height_for


def class_counts(path: str, names: Optional[Dict[int, str]] = None, band: int = 1) -> List[dict]:
    """[{class, name, pixels, area_m2}] over the valid pixels of ``band`` (1: the first; a model with several
    output heads writes one band per head), area empty unless the CRS is in metres."""
    names = names or {}
    number = band
    with gdal_errors():
        dataset = open_raster(path, "class raster")
        band = dataset.GetRasterBand(number)
        nodata = band.GetNoDataValue()
        counts = np.zeros(256, np.int64)
        for row, rows in row_strips(dataset.RasterYSize, strip_height_for(dataset, dataset.RasterXSize)):
            with read_check(path, "class raster"):
                values = band.ReadAsArray(0, row, dataset.RasterXSize, rows)
            if nodata is not None:
                values = values[values != nodata]
            counts += np.bincount(values.ravel().astype(np.int64), minlength=256)[:256]
        srs = srs_of(dataset)
        metres = srs is not None and srs.IsProjected() and abs(srs.GetLinearUnits() - 1.0) < 1e-9
        area = pixel_area(dataset.GetGeoTransform()) if metres else None
    return [{"class": value, "name": names.get(value, str(value)), "pixels": int(count),
             "area_m2": float(count * area) if area is not None else None}
            for value, count in enumerate(counts) if count or value in names]


def write_counts_file(path: str, rows: List[dict]) -> str:
    """The counts as CSV written straight to path (a temporary the caller publishes)."""
    text = io.StringIO()
    fields = (["output"] if rows and "output" in rows[0] else []) + ["class", "name", "pixels", "area_m2"]
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "area_m2": "" if row["area_m2"] is None else f"{row['area_m2']:.2f}"})
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text.getvalue())
    return path
