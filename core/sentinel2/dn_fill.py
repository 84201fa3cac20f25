"""DN 0 of Sentinel-2 reflectance DN rasters as nodata, where the files do not say so themselves.

Sentinel-2 L1C and L2A products code "no data" (outside the swath, and where a band has no measurement) as DN 0 in
every reflectance band: the products' Special_Values NODATA 0 and SATURATED 65535 (ESA's Sentinel-2 Products
Specification Document; the metadata's Special_Values block); valid DN start at 1, and at 1000 from processing
baseline 04.00 on. GDAL's SENTINEL2 driver and this plugin's conversion (core/sentinel2/convert.py) declare it. A
GeoTIFF made from the JP2 band files with other tools often does not, and a model then reads the fill of a swath edge
as dark ground: no cloud, and a cloud percentage over pixels that do not exist.

The rule, decided here and logged: for a model that reads reflectance (its metadata give reflectance_scale, as the
bundled cloud models' do), with input scaling automatic or raw DN, when every chosen band is UInt16 (the products'
type) and declares no nodata, mask or alpha, DN 0 is nodata. Reflectance DN 0 is no measurement in any of these:
with the baseline 04.00 offset it would be reflectance -0.1. USGS Landsat band files have their own rule
(core/landsat/fill.py), applied first; models without reflectance_scale (Deepness's) read values as stored.
"""
from typing import Optional, Sequence

from osgeo import gdal

from ..util.nodata_view import nodata_view, undeclared

FILL_DN = 0
_CHOICES = ("auto", "dn")


def fill_reason(dataset: gdal.Dataset, bands: Sequence[int], name: str, reads_reflectance: bool,
                scaling: str) -> Optional[str]:
    """Why DN 0 of ``bands`` is nodata, in words, or None when the rule (module docstring) does not apply.
    ``scaling`` is the normalised input-scaling choice (core.models.input_scaling.normalise_choice)."""
    if not reads_reflectance or scaling not in _CHOICES or not undeclared(dataset, bands, (gdal.GDT_UInt16,)):
        return None
    return (f"The bands of '{name}' are 16-bit DN that declare no nodata, read as reflectance DN: DN {FILL_DN}, "
            f"Sentinel-2's nodata value (outside the swath), was taken as nodata. If 0 is a real value in this "
            f"raster, declare another nodata value on its bands.")


def fill_view(dataset: gdal.Dataset, bands: Sequence[int], name: str, reads_reflectance: bool, scaling: str):
    """Context manager: (a view of ``dataset`` whose bands declare nodata 0, fill_reason) where fill_reason says so,
    else (``dataset``, None); core.util.nodata_view."""
    return nodata_view(dataset, FILL_DN, fill_reason(dataset, bands, name, reads_reflectance, scaling),
                       "sentinel2-fill")
