"""A STAC item's band assets as one raster: a VRT stacking the bands (COGs read window by window through
/vsicurl/), the tiles of one acquisition mosaicked where the label straddles them."""
import os
import uuid
from typing import List, Optional, Sequence, Tuple

from osgeo import gdal, osr

from ..net.cdse_assets import band_asset_keys
from ..search.scene import Scene
from ..util.errors import LabelMigrationError
from ..util.gdal_settings import gdal_errors

# band name -> Earth Search asset key (Planetary Computer and CDSE STAC use the band names)
STAC_BAND_ASSETS = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
                    "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09",
                    "B11": "swir16", "B12": "swir22", "SCL": "scl"}


def stac_rasters(scenes: Sequence[Scene], bands: Sequence[str], work: str) -> Tuple[str, Optional[str]]:
    """A VRT stacking the band assets of one acquisition's tiles (read window by window through
    /vsicurl/, never downloaded whole) and the path of its SCL, when it has one.

    The first scene covers most of the label; the other tiles in its CRS fill in where the label
    straddles tiles (the first one on top, nodata 0 never covering valid pixels)."""
    scene = scenes[0]
    hrefs = [asset_href(scene, band) for band in bands]
    missing = [band for band, href in zip(bands, hrefs) if href is None]
    if missing:
        raise LabelMigrationError(f"The scene '{scene.title}' has no asset for {', '.join(missing)} "
                                  f"(it has {', '.join(sorted(scene.assets)) or 'none'}).")
    os.makedirs(work, exist_ok=True)
    vrt_path = os.path.join(work, f"{uuid.uuid4().hex[:8]}.vrt")
    vrt = gdal.BuildVRT(vrt_path, hrefs, separate=True, resolution="highest")
    if vrt is None or vrt.RasterCount != len(bands):  # BuildVRT skips a source it cannot open, with a warning
        vrt = None
        raise LabelMigrationError(f"The scene '{scene.title}' has band assets that cannot be read: "
                                  f"{'; '.join(_unreadable(bands, hrefs)) or ', '.join(bands)}.")
    others = _tiles_to_mosaic(scene, scenes[1:], bands, vrt.GetProjection())
    scl = asset_href(scene, "SCL") if scene.level == "L2A" else None
    if others:
        vrt = None
        layers = [mosaic_vrt(os.path.join(work, f"{uuid.uuid4().hex[:8]}_{band}.vrt"),
                             [asset_href(other, band) for other in reversed(others)] + [href])
                  for band, href in zip(bands, hrefs)]
        vrt = gdal.BuildVRT(vrt_path, layers, separate=True, resolution="highest")
        if scl and all(asset_href(other, "SCL") for other in others):
            scl = mosaic_vrt(os.path.join(work, f"{uuid.uuid4().hex[:8]}_SCL.vrt"),
                             [asset_href(other, "SCL") for other in reversed(others)] + [scl])
    for index, band in enumerate(bands, start=1):
        vrt.GetRasterBand(index).SetDescription(band)
        vrt.GetRasterBand(index).SetNoDataValue(0)
    vrt = None
    return vrt_path, scl


def _unreadable(bands: Sequence[str], hrefs: Sequence[str]) -> List[str]:
    """'<band> at <url>: <why>' for each asset GDAL cannot read."""
    from ..net.http import display_url
    unreadable = []
    for band, href in zip(bands, hrefs):
        if href.startswith("/vsicurl/"):
            gdal.VSICurlPartialClearCache(href)  # ask again: a cached failure carries no HTTP status
        with gdal_errors():
            handle = gdal.VSIFOpenExL(href, "rb", True)
            why = None if handle else (gdal.VSIGetLastErrorMsg() or "it cannot be opened")
            if handle:
                gdal.VSIFCloseL(handle)
                try:
                    gdal.Open(href)
                except RuntimeError:
                    why = "it is not a raster GDAL can read"
        if why:  # the URL without its query string (it may hold a token), and GDAL's words without the URL
            shown = display_url(href[len("/vsicurl/"):]) if href.startswith("/vsicurl/") else href
            unreadable.append(f"{band} at {shown}: {why}")
    return unreadable


def _tiles_to_mosaic(scene: Scene, others: Sequence[Scene], bands: Sequence[str], projection: str) -> List[Scene]:
    """The other tiles that have every band, in the first tile's CRS (tiles in another UTM zone are left out)."""
    kept = []
    for other in others:
        hrefs = [asset_href(other, band) for band in bands]
        if all(hrefs) and same_crs(hrefs[0], projection):
            kept.append(other)
    return kept


def same_crs(href: str, projection: str) -> bool:
    """Whether the raster at href is in the CRS of ``projection`` (WKT); False when it cannot be opened."""
    try:
        with gdal_errors():
            dataset = gdal.Open(href)
            return dataset is not None and osr.SpatialReference(wkt=projection).IsSame(
                osr.SpatialReference(wkt=dataset.GetProjection()))
    except RuntimeError:
        return False


def mosaic_vrt(path: str, sources: Sequence[str], nodata: float = 0) -> str:
    """One band from several tiles on one grid; later sources are drawn over earlier ones where valid (not
    ``nodata``)."""
    vrt = gdal.BuildVRT(path, list(sources), resolution="highest", srcNodata=nodata, VRTNodata=nodata)
    if vrt is None:
        raise LabelMigrationError(f"The tiles {', '.join(sources)} cannot be mosaicked.")
    vrt = None
    return path


def asset_href(scene: Scene, band: str) -> Optional[str]:
    """The GDAL path of the scene's asset for a band (by its name, Earth Search's key or CDSE's keys), or of
    the asset of that key; /vsicurl/ for http(s)."""
    for key in (band, band.lower(), STAC_BAND_ASSETS.get(band, ""), *band_asset_keys(scene.assets, band)):
        href = scene.assets.get(key)
        if href:
            return "/vsicurl/" + href if href.startswith(("http://", "https://")) else href
    return None
