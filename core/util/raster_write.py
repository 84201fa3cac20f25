"""Writing rasters: GDAL and numpy data types, nodata defaults, GeoTIFF creation and colour tables."""
from typing import Optional, Sequence

import numpy as np
from osgeo import gdal, gdal_array

LABEL_BAND_NAME = "label"
GTIFF_OPTIONS = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]


def numpy_dtype(gdal_type: int) -> np.dtype:
    return np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(gdal_type))


def gdal_type(dtype: np.dtype) -> int:
    return gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(dtype))


def default_nodata(dtype: np.dtype) -> float:
    """Nodata for rasters that declare none: 0 for unsigned (Sentinel-2 DN 0), NaN for floats."""
    if np.issubdtype(dtype, np.floating):
        return float("nan")
    if np.issubdtype(dtype, np.signedinteger):
        return float(np.iinfo(dtype).min)
    return 0.0


def create_gtiff(path: str, width: int, height: int, bands: int, gdal_type: int,
                 srs_wkt: str = "", transform: Optional[Sequence[float]] = None,
                 options: Sequence[str] = GTIFF_OPTIONS) -> gdal.Dataset:
    options = list(options)
    if bands > 1:
        # without this GDAL tags 8-bit 3/4-band files as RGB(A): a 4th band (NIR) would become alpha
        options.append("PHOTOMETRIC=MINISBLACK")
    dataset = gdal.GetDriverByName("GTiff").Create(path, width, height, bands, gdal_type, options)
    if transform is not None:
        dataset.SetGeoTransform(list(transform))
    if srs_wkt:
        dataset.SetProjection(srs_wkt)
    return dataset


def copy_color_table(source_band: gdal.Band, target_band: gdal.Band) -> None:
    table = source_band.GetColorTable()
    if table is not None:
        target_band.SetColorTable(table)
        target_band.SetColorInterpretation(gdal.GCI_PaletteIndex)


def color_table_from(colors: dict) -> gdal.ColorTable:
    """A GDAL colour table from {index: (r, g, b) or (r, g, b, a)}."""
    table = gdal.ColorTable()
    for index, color in sorted(colors.items()):
        rgba = tuple(int(c) for c in color) + ((255,) if len(color) == 3 else ())
        table.SetColorEntry(int(index), rgba)
    return table
