"""Reading a SAFE product's metadata files (MTD_MSIL*.xml, MTD_TL.xml): size-checked XML, and the fields
a product needs, each checked so that a damaged product is refused with the file, the field and the value."""
import math
import re
from typing import Callable, Dict, Optional, TypeVar

from osgeo import gdal

from ..util import limits
from ..util.errors import LabelMigrationError
from ..util.paths import unreadable_reason
from ..util.metadata_xml import MetadataXmlError, XmlNode, parse_metadata_xml
from .safe_product import SPECTRAL_BANDS, TileGrid


def _read_text(path: str) -> str:
    """A metadata file's text, its size checked before it is read: a zip member's size is the one
    the archive declares once inflated (a small zip can hold a huge XML), and no more than that
    size is ever read, whatever the member really inflates to."""
    stat = gdal.VSIStatL(path)
    if stat is None:
        problem = unreadable_reason(path)
        raise LabelMigrationError(f"The metadata file {problem}." if problem else f"Cannot read '{path}'.")
    limits.check_metadata_size(stat.size, f"The metadata file '{path}'")
    handle = gdal.VSIFOpenL(path, "rb")
    if handle is None:
        problem = unreadable_reason(path)
        raise LabelMigrationError(f"The metadata file {problem}." if problem else f"Cannot read '{path}'.")
    try:
        data = gdal.VSIFReadL(1, stat.size, handle) if stat.size else b""
    finally:
        gdal.VSIFCloseL(handle)
    return data.decode("utf-8", errors="replace")


def parse_xml(path: str, source: str) -> XmlNode:
    """The metadata file's root node (core.util.metadata_xml: namespaces dropped, DTDs refused)."""
    try:
        return parse_metadata_xml(_read_text(path))
    except MetadataXmlError as error:
        raise LabelMigrationError(f"The product metadata '{path}' of '{source}' is not valid XML: {error}.") from error


def xml_text(root: XmlNode, tag: str, default: Optional[str] = None) -> Optional[str]:
    element = root.find_descendant(tag)
    return element.text.strip() if element is not None and element.text else default


Number = TypeVar("Number", int, float)


def metadata_number(text: Optional[str], what: str, metadata_path: str, kind: Callable[[str], Number] = float,
                    check: Optional[Callable[[Number], bool]] = None, expected: str = "") -> Number:
    """A number read from product metadata, or a LabelMigrationError naming the file, the field and the
    value (so that one damaged product can be skipped while the rest of an archive is read)."""
    try:
        value = kind(str(text).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or (check and not check(value)):
        raise LabelMigrationError(
            f"The product metadata '{metadata_path}' gives {what} as {text!r}, which is not "
            f"{expected or 'a number'}: the product is damaged or not a genuine Sentinel-2 product.")
    return value


def vsi_exists(path: str) -> bool:
    return gdal.VSIStatL(path) is not None


def tile_grid(tile_metadata: str, source: str) -> TileGrid:
    if not vsi_exists(tile_metadata):
        raise LabelMigrationError(f"The product '{source}' lacks its tile metadata '{tile_metadata}'.")
    root = parse_xml(tile_metadata, source)
    code = xml_text(root, "HORIZONTAL_CS_CODE", "")
    match = re.search(r"EPSG:(\d+)", code or "")
    if not match:
        raise LabelMigrationError(f"The tile metadata '{tile_metadata}' names no EPSG code.")
    sizes = {}
    positive = dict(kind=int, check=lambda n: n > 0, expected="a positive whole number")
    for size in root.iter("Size"):
        resolution = metadata_number(size.get("resolution"), "a Size resolution", tile_metadata, **positive)
        sizes[resolution] = (metadata_number(xml_text(size, "NCOLS"), "NCOLS", tile_metadata, **positive),
                             metadata_number(xml_text(size, "NROWS"), "NROWS", tile_metadata, **positive))
    origin = next((p for p in root.iter("Geoposition") if p.get("resolution") == "10"), None)
    origin = origin if origin is not None else next(root.iter("Geoposition"), None)
    if origin is None or 10 not in sizes:
        raise LabelMigrationError(f"The tile metadata '{tile_metadata}' has no 10 m geoposition and size.")
    return TileGrid(int(match.group(1)), metadata_number(xml_text(origin, "ULX"), "ULX", tile_metadata),
                    metadata_number(xml_text(origin, "ULY"), "ULY", tile_metadata), sizes)


def band_offsets(root: XmlNode, level: str, metadata_path: str) -> Dict[str, float]:
    tag = "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET"
    offsets = {}
    for element in root.iter(tag):
        band_id = metadata_number(element.get("band_id"), f"the band_id of a {tag}", metadata_path, kind=int,
                                  expected="a band number")
        if 0 <= band_id < len(SPECTRAL_BANDS):
            offsets[SPECTRAL_BANDS[band_id]] = metadata_number(
                element.text, f"the {tag} of band {SPECTRAL_BANDS[band_id]}", metadata_path)
    return offsets


def quantification_value(root: XmlNode, metadata_path: str) -> float:
    """The divisor of reflectance = (DN + offset) / quantification: 0 or less would turn every pixel
    into infinity or flip its sign, so it is refused (genuine products say 10000)."""
    for tag in ("QUANTIFICATION_VALUE", "BOA_QUANTIFICATION_VALUE"):
        text = xml_text(root, tag)
        if text:
            return metadata_number(text, f"the {tag}", metadata_path, check=lambda value: value > 0,
                                   expected="a positive number (genuine products say 10000)")
    raise LabelMigrationError(f"The product metadata '{metadata_path}' has no quantification value.")


def image_file_path(text: Optional[str], metadata_path: str) -> str:
    """An IMAGE_FILE entry: a path relative to the product that stays inside it."""
    relative = (text or "").strip()
    parts = relative.replace("\\", "/").split("/")
    if not relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative) or ".." in parts:
        raise LabelMigrationError(
            f"The product metadata '{metadata_path}' lists the image file '{relative}', which lies outside the "
            f"product; the product is damaged or hostile and is not read.")
    return relative
