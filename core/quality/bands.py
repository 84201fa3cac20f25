"""Which bands of a source image compare with which Sentinel-2 bands, and the source resampled onto a
pair's Sentinel-2 grid (GDAL warp into memory).

Bands are matched by name (B04, red, ...), by GDAL colour interpretation, or by a central wavelength
in the band metadata; a source with none of these compares as panchromatic (the mean of its bands)
with the mean of the Sentinel-2 true-colour bands.
"""
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal

from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import srs_of

# Sentinel-2 MSI central wavelengths, nm (S2A, rounded)
S2_WAVELENGTH_NM = {"B01": 443, "B02": 490, "B03": 560, "B04": 665, "B05": 705, "B06": 740, "B07": 783,
                    "B08": 842, "B8A": 865, "B09": 945, "B10": 1375, "B11": 1610, "B12": 2190}
TRUE_COLOUR = ("B02", "B03", "B04")
_ALIASES = {"coastal": 443, "blue": 490, "green": 560, "red": 665, "rededge": 705, "red_edge": 705,
            "nir": 842, "nir08": 842, "swir16": 1610, "swir1": 1610, "swir22": 2190, "swir2": 2190,
            "pan": None, "panchromatic": None, "gray": None, "grey": None}
_COLOUR_WAVELENGTH = {gdal.GCI_BlueBand: 490, gdal.GCI_GreenBand: 560, gdal.GCI_RedBand: 665}
MATCH_TOLERANCE_NM = 60.0


def s2_wavelength(name: str) -> Optional[float]:
    """Central wavelength of a Sentinel-2 band name ('B04', 'B4', 'B8A', 'red'), else None."""
    text = (name or "").strip().upper()
    found = re.fullmatch(r"B0?(\d{1,2}|8A)", text)
    if found:
        key = "B8A" if found.group(1) == "8A" else f"B{int(found.group(1)):02d}"
        return S2_WAVELENGTH_NM.get(key)
    return _ALIASES.get(text.lower())


def band_wavelength(band: gdal.Band) -> Optional[float]:
    """A band's central wavelength in nm from its metadata, description or colour interpretation."""
    metadata = {k.upper(): v for k, v in (band.GetMetadata() or {}).items()}
    for key in ("CENTRAL_WAVELENGTH_UM", "WAVELENGTH_UM"):
        value = _number(metadata.get(key))
        if value:
            return value * 1000.0
    for key in ("WAVELENGTH", "CENTRAL_WAVELENGTH", "WAVELENGTH_NM"):
        value = _number(metadata.get(key))
        if value:
            return value * 1000.0 if value < 20 else value  # micrometres or nanometres
    by_name = s2_wavelength(band.GetDescription())
    if by_name:
        return float(by_name)
    return _COLOUR_WAVELENGTH.get(band.GetColorInterpretation())


def _number(text) -> Optional[float]:
    try:
        value = float(str(text).split()[0])
    except (TypeError, ValueError, IndexError):
        return None
    return value if np.isfinite(value) and value > 0 else None


def match_bands(source: gdal.Dataset, scene: gdal.Dataset) -> Tuple[List[int], List[int], str]:
    """(source band indices, scene band indices, how) compared with each other, 1-based.

    Bands pair up by wavelength within MATCH_TOLERANCE_NM (each scene band once); without any pair,
    every source band (panchromatic) against the scene's true-colour bands (all bands when it has none
    named)."""
    scene_wavelengths = {i: band_wavelength(scene.GetRasterBand(i)) for i in range(1, scene.RasterCount + 1)}
    pairs = []
    for index in range(1, source.RasterCount + 1):
        band = source.GetRasterBand(index)
        if band.GetColorInterpretation() == gdal.GCI_AlphaBand:
            continue
        wavelength = band_wavelength(band)
        if wavelength is None:
            continue
        near = [(abs(w - wavelength), i) for i, w in scene_wavelengths.items() if w is not None]
        near = [item for item in near if item[0] <= MATCH_TOLERANCE_NM and item[1] not in {p[1] for p in pairs}]
        if near:
            pairs.append((index, min(near)[1]))
    if pairs:
        return [p[0] for p in pairs], [p[1] for p in pairs], "bands matched by wavelength"
    source_bands = [i for i in range(1, source.RasterCount + 1)
                    if source.GetRasterBand(i).GetColorInterpretation() != gdal.GCI_AlphaBand]
    true_colour = [i for i, w in scene_wavelengths.items() if w in [S2_WAVELENGTH_NM[b] for b in TRUE_COLOUR]]
    return (source_bands or [1], true_colour or list(range(1, scene.RasterCount + 1)),
            "panchromatic against the true-colour mean")


def resample_to_grid(source: gdal.Dataset, grid: gdal.Dataset, bands: Optional[Sequence[int]] = None,
                     resampling: Optional[str] = None) -> gdal.Dataset:
    """The source's ``bands`` (1-based; all by default) warped onto ``grid``'s pixels (its size,
    geotransform and CRS) as a Float32 in-memory raster with NaN where the source has no data.

    ``resampling`` defaults to 'average' when the source's pixels are finer than the grid's (so a
    0.5 m aerial photo or a 3 m PlanetScope image is averaged, not sampled), else 'bilinear'."""
    bands = list(bands or range(1, source.RasterCount + 1))
    if resampling is None:
        resampling = "average" if _pixel_size(source) < 0.75 * _pixel_size(grid) else "bilinear"
    memory = gdal.GetDriverByName("MEM")
    with gdal_errors():
        picked = gdal.Translate("", source, format="VRT", bandList=bands)
        out = memory.Create("", grid.RasterXSize, grid.RasterYSize, len(bands), gdal.GDT_Float32)
        out.SetGeoTransform(grid.GetGeoTransform())
        out.SetProjection(grid.GetProjection())
        for index in range(1, len(bands) + 1):
            out.GetRasterBand(index).SetNoDataValue(float("nan"))
            out.GetRasterBand(index).Fill(float("nan"))
        gdal.Warp(out, picked, resampleAlg=resampling, dstNodata=float("nan"),
                  srcSRS=source.GetProjection() or None, dstSRS=grid.GetProjection() or None)
    return out


def _pixel_size(dataset: gdal.Dataset) -> float:
    """Pixel size in metres (an approximation for geographic CRSs)."""
    transform = dataset.GetGeoTransform()
    size = float(np.sqrt(abs(transform[1] * transform[5] - transform[2] * transform[4])))
    srs = srs_of(dataset)
    if srs is not None and srs.IsGeographic():
        size *= 111320.0
    elif srs is not None:
        size *= srs.GetLinearUnits() or 1.0
    return size
