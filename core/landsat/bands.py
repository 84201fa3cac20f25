"""The one place that decides which Landsat Collection 2 Level-2 asset holds a band the run asks for, and
what the pixels mean.

Bands are asked for by Sentinel-2 name (B02, B8A, ...), by common name (blue, nir, swir16, ...) or by
asset key. Planetary Computer and Earth Search both key Landsat C2 L2 assets by common name (coastal,
blue, green, red, nir08, swir16, swir22; qa_pixel for the pixel quality band). Sentinel-2's red-edge,
water-vapour and cirrus bands have no Landsat Level-2 counterpart: asking for one is an error that names it.

Pair images keep the Landsat DN (uint16, nodata 0), never rescaled: surface reflectance = DN * scale + offset,
with scale and offset from the item's ``raster:bands`` where it gives them, else the USGS Collection 2
Level-2 surface reflectance values (0.0000275, -0.2). They are written as each band's GDAL scale/offset and
named in the image's metadata (see describe_pixels).
"""
import logging
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..util.errors import LabelMigrationError
from .names import product_id

LOG = logging.getLogger(__name__)

COLLECTION = "landsat-c2-l2"
QA_PIXEL_ASSET = "qa_pixel"
SENSOR = "Landsat Collection 2 Level-2"  # the pair image's SENSOR metadata (describe_pixels)
# what a Landsat pair's cloud mask is made from (core.landsat.qa_pixel.mask_from_qa), in words for the log
QA_MASK_SOURCE = ("the qa_pixel band of the Landsat products (dilated cloud, cirrus and cloud bits as 1; cloud "
                  "shadow bit as 2; fill bit as 255), not the cloud model (trained on Sentinel-2)")
# USGS Landsat 8-9 C2 L2 Science Product Guide (LSDS-1619): SR_B1..SR_B7 = DN * 0.0000275 - 0.2
SR_SCALE, SR_OFFSET = 0.0000275, -0.2
# DN of reflectance -0.06: real C2 L2 surface reflectance lies above (USGS: valid from DN 7273, reflectance 0)
_C2_L2_LOWEST_DN = 5000
# asked-for name (upper case) -> asset key; Landsat 8/9 OLI bands in brackets
LANDSAT_ASSETS: Dict[str, str] = {
    "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red",  # SR_B1 .. SR_B4
    "B08": "nir08", "B8A": "nir08",  # SR_B5 (865 nm) is nearer B8A (865 nm) than B08 (842 nm); either maps there
    "B11": "swir16", "B12": "swir22",  # SR_B6, SR_B7
    "COASTAL": "coastal", "BLUE": "blue", "GREEN": "green", "RED": "red", "NIR": "nir08", "NIR08": "nir08",
    "SWIR16": "swir16", "SWIR22": "swir22",
}
SR_ASSETS = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")  # surface reflectance: SR_SCALE
NOT_IN_LANDSAT: Dict[str, str] = {
    "B05": "red edge 1 (705 nm)", "B06": "red edge 2 (740 nm)", "B07": "red edge 3 (783 nm)",
    "REDEDGE1": "red edge 1 (705 nm)", "REDEDGE2": "red edge 2 (740 nm)", "REDEDGE3": "red edge 3 (783 nm)",
    "B09": "water vapour (945 nm)", "NIR09": "water vapour (945 nm)",
    "B10": "cirrus (1375 nm; Landsat's cirrus band B9 is in Level-1 products only)",
    "SCL": "the Sentinel-2 scene classification (Landsat rates clouds from qa_pixel instead)",
}


def landsat_assets(bands: Sequence[str], available: Optional[Mapping[str, object]] = None) -> List[str]:
    """The asset key of each asked-for band, in order; an error naming every band Landsat lacks.
    available: the item's assets; a name that is none of the above is taken as an asset key when the
    item has it."""
    keys, lacking = [], []
    for band in bands:
        name = str(band).strip()
        upper = name.upper()
        if upper in NOT_IN_LANDSAT:
            lacking.append(f"{name} ({NOT_IN_LANDSAT[upper]})")
        elif upper in LANDSAT_ASSETS:
            keys.append(LANDSAT_ASSETS[upper])
        elif available is not None and name.lower() in available:
            keys.append(name.lower())
        else:
            lacking.append(f"{name} (no such Landsat asset)")
    if lacking:
        raise LabelMigrationError(
            f"Landsat Collection 2 Level-2 has no band {', '.join(lacking)}. Landsat bands: B01/coastal, "
            f"B02/blue, B03/green, B04/red, B08 or B8A/nir08, B11/swir16, B12/swir22.")
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise LabelMigrationError(
            f"The bands {', '.join(b for b, k in zip(bands, keys) if k in repeated)} are all the Landsat asset "
            f"{', '.join(repeated)}; ask for it once.")
    return keys


def asset_scales(assets: Mapping[str, dict]) -> Dict[str, List[float]]:
    """asset key -> [scale, offset] from a STAC item's raster:bands (first band), for assets that give one."""
    scales = {}
    for key, asset in (assets or {}).items():
        bands = asset.get("raster:bands") if isinstance(asset, dict) else None
        first = bands[0] if isinstance(bands, list) and bands and isinstance(bands[0], dict) else {}
        scale, offset = first.get("scale"), first.get("offset")
        if isinstance(scale, (int, float)) or isinstance(offset, (int, float)):
            scales[key] = [float(scale if isinstance(scale, (int, float)) else 1.0),
                           float(offset if isinstance(offset, (int, float)) else 0.0)]
    return scales


def band_scale(asset: str, item_scales: Mapping[str, Sequence[float]]) -> Optional[Tuple[float, float]]:
    """(scale, offset) from DN to the asset's physical value: the item's own, else the surface reflectance
    fallback for SR assets, else None (the DN are written as they are, without a scale)."""
    given = item_scales.get(asset)
    if given:
        return float(given[0]), float(given[1])
    return (SR_SCALE, SR_OFFSET) if asset in SR_ASSETS else None


def describe_pixels(bands: Sequence[str], assets: Sequence[str],
                    scales: Sequence[Optional[Tuple[float, float]]]) -> Dict[str, str]:
    """The pair image's metadata saying what its pixels are (written beside each band's scale/offset)."""
    mapping = ", ".join(f"{band}={asset}" for band, asset in zip(bands, assets))
    factors = "; ".join(f"{band}: DN * {scale[0]:g} + {scale[1]:g}" for band, scale in zip(bands, scales) if scale)
    return {"SENSOR": SENSOR, "LANDSAT_ASSETS": mapping,
            "PIXEL_VALUES": "Landsat DN as delivered (uint16, nodata 0), not rescaled; surface reflectance = "
                            "DN * scale + offset (each band's scale and offset)" + (f": {factors}" if factors else "")}


def unscaled_surface_reflectance(file_names: Sequence[str], sample: np.ndarray) -> Optional[str]:
    """Why integer bands without scale/offset tags are USGS Landsat Collection 2 Level-2 surface reflectance DN
    (SR_SCALE, SR_OFFSET), or None: a file of the dataset carries such a product id (LC08_L2SP_..., not a
    surface-temperature _ST_ band) and the sample's values (bands, pixels) fit. USGS's own GeoTIFFs carry no
    scale/offset, so read as Sentinel-2 DN they look ten times too bright."""
    names = [os.path.basename(path) for path in file_names]
    named = next((name for name in names if _collection2_level2(name) and "_ST_" not in name.upper()), None)
    if named is None:
        return None
    lowest = float(np.percentile(sample, 1)) if sample.size else None
    if lowest is not None and lowest < _C2_L2_LOWEST_DN:
        LOG.info("'%s' is named like a Landsat Collection 2 Level-2 product, but its values (1st percentile %.0f) "
                 "are not its surface reflectance DN: read as they are", named, lowest)
        return None
    return (f"'{named}' is a USGS Landsat Collection 2 Level-2 surface reflectance file, whose bands carry no "
            f"scale/offset: its published scale {SR_SCALE} and offset {SR_OFFSET} (USGS LSDS-1619) make reflectance")


def _collection2_level2(name: str) -> bool:
    """Whether a file name carries a USGS Collection 2 Level-2 product id (Landsat 4 to 9: L2SP, L2SR)."""
    found = product_id(name)
    return bool(found) and found.level.startswith("L2") and found.collection == "02" and found.satellite >= 4
