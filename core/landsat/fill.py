"""DN 0 of USGS Landsat band files as nodata, where the files do not say so themselves.

USGS Landsat products (Landsat 1-9, Collection 1 and 2, Level-1 and Level-2) fill the area outside a scene's
footprint (the triangular corners of every WRS-2 scene) with DN 0 in their band files: the Level-1 bands, the
Level-2 surface reflectance (SR_B<n>) and surface temperature (ST_B<n>) bands (USGS Collection 2 Level-1 and
Level-2 DFCBs, e.g. LSDS-1822 and LSDS-1328). Their GeoTIFFs often declare no nodata, and copies or stacks made from
them lose it, so a model would read the fill as ground. A peer, satpy's Landsat reader, masks DN 0 of these bands as
fill. Exceptions, left as they are: quality bands (QA_PIXEL, QA_RADSAT, BQA, ...), whose 0 is a value, and the
bands USGS fills with -9999 (Level-2 surface temperature intermediates TRAD, URAD, DRAD, ATRAN, EMIS, EMSD and CDIST;
Collection 1 ESPA sr_band / toa_band / bt_band files and their aerosol/opacity bands).

fill_view gives the raster as a VRT whose bands declare nodata 0 (core/util/nodata_view.py; the input file is never
changed), with the decision in words.
"""
import os
from typing import Optional, Sequence

from osgeo import gdal

from ..util.nodata_view import nodata_view, undeclared
from ..util.raster_read import INTEGER_TYPES, band_sources
from .band_numbering import product_sensor
from .names import product_id

FILL_DN = 0
# words in the file name after the product id: quality bands (0 is a value), bands whose fill is -9999
_QUALITY = {"QA", "BQA"}
_OTHER_FILL = {"TRAD", "URAD", "DRAD", "ATRAN", "EMIS", "EMSD", "CDIST", "AEROSOL", "OPACITY"}


def fill_file(path: str) -> Optional[str]:
    """The USGS product id (prefix) of a band file whose DN 0 is fill, else None."""
    if product_sensor(os.path.basename(str(path))) is None:  # no id of a known Landsat sensor
        return None
    found = product_id(path)
    words = set(found.rest.upper().replace(".", "_").split("_"))
    espa = any(word.startswith("BAND") for word in words)  # Collection 1 ESPA ..._sr_band4, _toa_band4: -9999
    return None if words & (_QUALITY | _OTHER_FILL) or espa else found.prefix


def fill_reason(dataset: gdal.Dataset, bands: Sequence[int], name: str) -> Optional[str]:
    """Why DN 0 of ``bands`` is nodata, in words, or None: every band is integer, declares no nodata nor any
    mask or alpha, and every file it is read from is a USGS Landsat band file whose fill is 0."""
    if not undeclared(dataset, bands, INTEGER_TYPES):
        return None
    products = set()
    for files in band_sources(dataset, bands):
        found = [fill_file(path) for path in files]
        if not found or None in found:
            return None
        products.update(found)
    return (f"The bands of '{name}' come from USGS Landsat product files ({', '.join(sorted(products))}) that "
            f"declare no nodata: DN {FILL_DN}, the USGS fill value of Landsat band files (the area outside the "
            f"scene's footprint), was taken as nodata.")


def fill_view(dataset: gdal.Dataset, bands: Sequence[int], name: str):
    """Context manager: (a view of ``dataset`` whose bands declare nodata 0, fill_reason) where fill_reason says so,
    else (``dataset``, None); core.util.nodata_view."""
    return nodata_view(dataset, FILL_DN, fill_reason(dataset, bands, name), "landsat-fill")
