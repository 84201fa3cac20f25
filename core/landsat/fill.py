"""DN 0 of USGS Landsat band files as nodata, where the files do not say so themselves.

USGS Landsat products (Landsat 1-9, Collection 1 and 2, Level-1 and Level-2) fill the area outside a scene's
footprint (the triangular corners of every WRS-2 scene) with DN 0 in their band files: the Level-1 bands, the
Level-2 surface reflectance (SR_B<n>) and surface temperature (ST_B<n>) bands (USGS Collection 2 Level-1 and
Level-2 DFCBs, e.g. LSDS-1822 and LSDS-1328). Their GeoTIFFs often declare no nodata, and copies or stacks made from
them lose it, so a model would read the fill as ground. A peer, satpy's Landsat reader, masks DN 0 of these bands as
fill. Exceptions, left as they are: quality bands (QA_PIXEL, QA_RADSAT, BQA, ...), whose 0 is a value, and the
bands USGS fills with -9999 (Level-2 surface temperature intermediates TRAD, URAD, DRAD, ATRAN, EMIS, EMSD and CDIST;
Collection 1 ESPA sr_band / toa_band / bt_band files and their aerosol/opacity bands).

fill_view gives the raster as a VRT in /vsimem whose bands declare nodata 0 (the input file is never changed), with
the decision in words; the VRT keeps reading the band files themselves, so what reads a raster's files (its
product id, the MTL beside them) still finds them.
"""
import logging
import os
import uuid
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Tuple

from osgeo import gdal

from .band_numbering import product_sensor
from .level1 import band_sources

LOG = logging.getLogger(__name__)

FILL_DN = 0
_INTEGER_TYPES = (gdal.GDT_Byte, gdal.GDT_UInt16, gdal.GDT_Int16, gdal.GDT_UInt32, gdal.GDT_Int32)
# words in the file name after the product id: quality bands (0 is a value), bands whose fill is -9999
_QUALITY = {"QA", "BQA"}
_OTHER_FILL = {"TRAD", "URAD", "DRAD", "ATRAN", "EMIS", "EMSD", "CDIST", "AEROSOL", "OPACITY"}


def fill_file(path: str) -> Optional[str]:
    """The USGS product id (prefix) of a band file whose DN 0 is fill, else None."""
    name = os.path.basename(str(path)).upper()
    found = product_sensor(name)
    if found is None:
        return None
    words = set(name[name.index(found[0]) + len(found[0]):].replace(".", "_").split("_"))
    espa = any(word.startswith("BAND") for word in words)  # Collection 1 ESPA ..._sr_band4, _toa_band4: -9999
    return None if words & (_QUALITY | _OTHER_FILL) or espa else found[0]


def fill_reason(dataset: gdal.Dataset, bands: Sequence[int], name: str) -> Optional[str]:
    """Why DN 0 of ``bands`` is nodata, in words, or None: every band is integer, declares no nodata nor any
    mask or alpha, and every file it is read from is a USGS Landsat band file whose fill is 0."""
    if not bands:
        return None
    for number in bands:
        band = dataset.GetRasterBand(number)
        if band.DataType not in _INTEGER_TYPES or band.GetNoDataValue() is not None or \
                band.GetMaskFlags() != gdal.GMF_ALL_VALID:
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


@contextmanager
def fill_view(dataset: gdal.Dataset, bands: Sequence[int], name: str
              ) -> Iterator[Tuple[gdal.Dataset, Optional[str]]]:
    """(a view of ``dataset`` whose bands declare nodata 0, fill_reason) where fill_reason says so, else
    (``dataset``, None). The view lives in /vsimem until the block ends."""
    reason = fill_reason(dataset, bands, name)
    if reason is None:
        yield dataset, None
        return
    path = f"/vsimem/labelmigration-landsat-fill-{uuid.uuid4().hex}.vrt"
    try:
        view = _nodata_view(dataset, path)
        LOG.info("%s", reason)
        yield view, reason
    finally:
        if gdal.VSIStatL(path) is not None:
            gdal.Unlink(path)


def _nodata_view(dataset: gdal.Dataset, path: str) -> gdal.Dataset:
    """A VRT at ``path`` reading ``dataset``'s pixels as they are, nodata 0 on every band, scale/offset,
    descriptions, metadata, geotransform and CRS kept. A VRT's own definition is copied with its sources' paths made
    absolute (a VRT of a VRT would hide the band files from GetFileList and LocationInfo; GDAL 3.6's CreateCopy of a
    VRT breaks the source VRT's vrt_sources metadata), edited with GDAL's own XML parser, which expands no entities;
    anything else is translated."""
    if dataset.GetDriver().ShortName != "VRT":
        gdal.Translate(path, dataset, format="VRT", noData=FILL_DN)  # the result closed: written, not dirty
        return gdal.Open(path)
    description = dataset.GetDescription()
    folder = os.path.dirname(os.path.abspath(description)) if not description.lstrip().startswith("<") else ""
    tree = gdal.ParseXMLString(dataset.GetMetadata("xml:VRT")[0])
    _edit(tree, folder)
    gdal.FileFromMemBuffer(path, gdal.SerializeXMLTree(tree))
    return gdal.Open(path)


_ELEMENT, _TEXT, _ATTRIBUTE = gdal.CXT_Element, gdal.CXT_Text, gdal.CXT_Attribute


def _edit(node: list, folder: str) -> None:
    """In place, on GDAL's XML tree ([type, name, children...]): sources relative to the input's folder made
    absolute; each band's NoDataValue set to the fill value."""
    if node[0] != _ELEMENT:
        return
    children = node[2:]
    if node[1] == "SourceFilename":
        relative = [c for c in children if c[0] == _ATTRIBUTE and c[1] == "relativeToVRT"]
        text = [c for c in children if c[0] == _TEXT]
        if relative and relative[0][2][1] == "1" and text:
            relative[0][2][1] = "0"
            text[0][1] = os.path.join(folder, text[0][1])
    if node[1] == "VRTRasterBand":
        node[2:] = [c for c in children if not (c[0] == _ELEMENT and c[1] == "NoDataValue")]
        first_element = next((i for i, c in enumerate(node) if i >= 2 and c[0] == _ELEMENT), len(node))
        node.insert(first_element, [_ELEMENT, "NoDataValue", [_TEXT, str(FILL_DN)]])
    for child in node[2:]:
        _edit(child, folder)
