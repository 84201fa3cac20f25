"""The band VRT and the QA_PIXEL raster a Landsat candidate is read from: the asked-for bands' assets
stacked (COGs read window by window through /vsicurl/, rows of one pass mosaicked as core.migration.stac_assets
mosaics tiles), each band named as asked, with its scale and offset to surface reflectance."""
import logging
import os
import uuid
from typing import List, Optional, Sequence, Tuple

from osgeo import gdal

from ..search.scene import Scene  # core.search before core.migration.stac_assets, which reads it
from ..migration.stac_assets import asset_href, mosaic_vrt, same_crs, stac_rasters
from ..util.gdal_settings import gdal_errors
from .bands import QA_PIXEL_ASSET, band_scale, describe_pixels, landsat_assets
from .qa_pixel import QA_NODATA

LOG = logging.getLogger(__name__)


def landsat_rasters(scenes: Sequence[Scene], bands: Sequence[str], work: str) -> Tuple[str, Optional[str]]:
    """(a VRT stacking the asked-for bands, named as asked, with each band's scale and offset to surface
    reflectance; the QA_PIXEL raster, rows of one pass mosaicked) for one Landsat acquisition."""
    scene = scenes[0]
    assets = landsat_assets(bands, scene.assets)
    scales = [band_scale(asset, scene.band_scales or {}) for asset in assets]
    LOG.info("Landsat %s: %s", scene.title, ", ".join(f"{b} -> {a}" for b, a in zip(bands, assets)))
    vrt_path, _ = stac_rasters(scenes, assets, work)
    with gdal_errors():
        vrt = gdal.Open(vrt_path, gdal.GA_Update)
        for index, (band, asset, scale) in enumerate(zip(bands, assets, scales), start=1):
            target = vrt.GetRasterBand(index)
            target.SetDescription(band)
            target.SetMetadata({"STAC_ASSET": asset})
            if scale:
                target.SetScale(scale[0])
                target.SetOffset(scale[1])
        vrt.SetMetadata({**describe_pixels(bands, assets, scales), "WRS_PATH_ROW": scene.tile,
                         "SOURCE_ITEM": scene.id})
        projection = vrt.GetProjection()
        vrt = None
    return vrt_path, _qa_pixel(scenes, projection, work)


def _qa_pixel(scenes: Sequence[Scene], projection: str, work: str) -> Optional[str]:
    """The first scene's QA_PIXEL, with the other rows' (same CRS) under it where it has no data."""
    hrefs = [asset_href(scene, QA_PIXEL_ASSET) for scene in scenes]
    if not hrefs[0]:
        return None
    kept = [href for href in hrefs[1:] if href and same_crs(href, projection)]
    if not kept:
        return hrefs[0]
    return mosaic_vrt(os.path.join(work, f"{uuid.uuid4().hex[:8]}_qa_pixel.vrt"), list(reversed(kept)) + [hrefs[0]],
                      nodata=QA_NODATA)


def fetch_landsat(candidate, bands: List[str], work: str) -> None:
    """Where a Landsat candidate is read from (core.migration.scenes.fetch's hook)."""
    candidate.band_names = list(bands)
    candidate.path, candidate.qa_pixel = landsat_rasters(candidate.scenes, bands, work)
