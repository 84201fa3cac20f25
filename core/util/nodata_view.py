"""A view of a raster whose bands declare nodata, for rasters whose format says which value is fill but whose files
do not (core/landsat/fill.py, core/sentinel2/dn_fill.py).

nodata_view gives the raster as a VRT in /vsimem whose bands declare the fill value as nodata (the input file is
never changed); the VRT keeps reading the band files themselves, so what reads a raster's files (a Landsat product
id, the MTL beside them) still finds them.
"""
import logging
import os
import uuid
from contextlib import contextmanager
from typing import Collection, Iterator, Optional, Sequence, Tuple

from osgeo import gdal

LOG = logging.getLogger(__name__)


def undeclared(dataset: gdal.Dataset, bands: Sequence[int], types: Collection[int]) -> bool:
    """Whether every band of ``bands`` holds values of one of the GDAL ``types`` and declares no nodata, mask or
    alpha: the rasters whose fill a format rule may name."""
    for number in bands:
        band = dataset.GetRasterBand(number)
        if band.DataType not in types or band.GetNoDataValue() is not None or \
                band.GetMaskFlags() != gdal.GMF_ALL_VALID:
            return False
    return bool(bands)


@contextmanager
def nodata_view(dataset: gdal.Dataset, fill: int, reason: Optional[str], kind: str
                ) -> Iterator[Tuple[gdal.Dataset, Optional[str]]]:
    """(a view of ``dataset`` whose bands declare nodata ``fill``, ``reason``) when ``reason`` (why, in words) is
    given, else (``dataset``, None). The decision is logged; the view lives in /vsimem until the block ends."""
    if reason is None:
        yield dataset, None
        return
    path = f"/vsimem/labelmigration-{kind}-{uuid.uuid4().hex}.vrt"
    try:
        view = _view(dataset, path, fill)
        LOG.info("%s", reason)
        yield view, reason
    finally:
        if gdal.VSIStatL(path) is not None:
            gdal.Unlink(path)


def _view(dataset: gdal.Dataset, path: str, fill: int) -> gdal.Dataset:
    """A VRT at ``path`` reading ``dataset``'s pixels as they are, nodata ``fill`` on every band, scale/offset,
    descriptions, metadata, geotransform and CRS kept. A VRT's own definition is copied with its sources' paths made
    absolute (a VRT of a VRT would hide the band files from GetFileList and LocationInfo; GDAL 3.6's CreateCopy of a
    VRT breaks the source VRT's vrt_sources metadata), edited with GDAL's own XML parser, which expands no entities;
    anything else is translated."""
    if dataset.GetDriver().ShortName != "VRT":
        gdal.Translate(path, dataset, format="VRT", noData=fill)  # the result closed: written, not dirty
        return gdal.Open(path)
    description = dataset.GetDescription()
    folder = os.path.dirname(os.path.abspath(description)) if not description.lstrip().startswith("<") else ""
    tree = gdal.ParseXMLString(dataset.GetMetadata("xml:VRT")[0])
    _edit(tree, folder, fill)
    gdal.FileFromMemBuffer(path, gdal.SerializeXMLTree(tree))
    return gdal.Open(path)


_ELEMENT, _TEXT, _ATTRIBUTE = gdal.CXT_Element, gdal.CXT_Text, gdal.CXT_Attribute


def _edit(node: list, folder: str, fill: int) -> None:
    """In place, on GDAL's XML tree ([type, name, children...]): sources relative to the input's folder made
    absolute; each band's NoDataValue set to ``fill``."""
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
        node.insert(first_element, [_ELEMENT, "NoDataValue", [_TEXT, str(fill)]])
    for child in node[2:]:
        _edit(child, folder, fill)
