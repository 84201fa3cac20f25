"""Sentinel-2 SAFE products (L1C and L2A, compact naming): metadata and virtual band stacks.

A product is read where it lies: a .SAFE folder, a zip (through /vsizip/, never extracted) or its
MTD_MSIL1C.xml / MTD_MSIL2A.xml. safe_stack.py puts its bands on one grid.
"""
import math
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from osgeo import gdal

from ..util import limits
from ..util.errors import LabelMigrationError
from .metadata_xml import MetadataXmlError, XmlNode, parse_metadata_xml
from ..util.paths import unreadable_reason

SPECTRAL_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
NATIVE_RESOLUTION = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10, "B8A": 20,
    "B09": 60, "B10": 60, "B11": 20, "B12": 20, "SCL": 20,
}
# band_id of the XML offset lists: the position in SPECTRAL_BANDS
BAND_ID = {band: index for index, band in enumerate(SPECTRAL_BANDS)}
CLASS_BANDS = ("SCL",)  # categorical: always nearest neighbour
RESOLUTIONS = (10, 20, 60)
PRODUCT_XML = {"MTD_MSIL1C.xml": "L1C", "MTD_MSIL2A.xml": "L2A"}
_BAND_IN_NAME = re.compile(r"_(B\d[\dA]|SCL|TCI|AOT|WVP)(?:_(\d{2})m)?$")


@dataclass
class TileGrid:
    epsg: int
    ulx: float
    uly: float
    # resolution -> (columns, rows)
    sizes: Dict[int, Tuple[int, int]]

    def transform(self, resolution: int) -> Tuple[float, float, float, float, float, float]:
        return (self.ulx, float(resolution), 0.0, self.uly, 0.0, -float(resolution))

    def size(self, resolution: int) -> Tuple[int, int]:
        if resolution in self.sizes:
            return self.sizes[resolution]
        columns, rows = self.sizes[10]
        return columns * 10 // resolution, rows * 10 // resolution


@dataclass
class SafeProduct:
    source: str  # as given by the user
    root: str  # GDAL path of the .SAFE folder (a /vsizip/ path for zips)
    metadata_path: str
    level: str  # 'L1C' or 'L2A'
    product_type: str
    baseline: str
    quantification: float
    offsets: Dict[str, float]
    sensing_start: str
    orbit: str
    spacecraft: str
    tile: str
    grid: TileGrid
    # band -> resolution -> GDAL path of the JP2
    band_files: Dict[str, Dict[int, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return os.path.basename(self.root.rstrip("/"))

    @property
    def spectral_bands(self) -> List[str]:
        return [band for band in SPECTRAL_BANDS if band in self.band_files]

    @property
    def datatake(self) -> Tuple[str, str, str]:
        return self.spacecraft, self.sensing_start, self.orbit

    def band_file(self, band: str, resolution: int) -> Tuple[str, int]:
        """The JP2 to read a band from for a target resolution: the product's own file at that
        resolution when it has one (L2A), else the band's native file."""
        files = self.band_files.get(band)
        if not files:
            available = ", ".join(self.spectral_bands + [b for b in CLASS_BANDS if b in self.band_files])
            raise LabelMigrationError(
                f"The {self.level} product '{self.source}' has no band {band} (it has {available})."
            )
        if resolution in files:
            return files[resolution], resolution
        native = NATIVE_RESOLUTION.get(band, min(files))
        chosen = native if native in files else min(files)
        return files[chosen], chosen

    def offset(self, band: str) -> float:
        return self.offsets.get(band, 0.0)


def is_safe_product(path: str) -> bool:
    """Whether path looks like a SAFE product (folder, zip or product MTD xml) rather than a raster."""
    if not path:
        return False
    name = os.path.basename(path.rstrip("/"))
    if name in PRODUCT_XML or name.upper().endswith(".SAFE"):
        return True
    if name.lower().endswith(".zip"):
        entries = gdal.ReadDir("/vsizip/" + os.path.abspath(path)) or []
        return any(entry.upper().endswith(".SAFE") or entry in PRODUCT_XML for entry in entries)
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, xml)) for xml in PRODUCT_XML)


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
    """The metadata file's root node (core.sentinel2.metadata_xml: namespaces dropped, DTDs refused)."""
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


def _exists(path: str) -> bool:
    return gdal.VSIStatL(path) is not None


def _locate_metadata(path: str) -> str:
    """The GDAL path of the product's MTD_MSIL*.xml, or a clear error."""
    name = os.path.basename(path.rstrip("/"))
    if name.lower().endswith(".xml"):
        if name not in PRODUCT_XML:
            kind = "a tile metadata file" if name.startswith("MTD_TL") else "not a Sentinel-2 product metadata file"
            raise LabelMigrationError(
                f"'{path}' is {kind}; give the product's MTD_MSIL1C.xml or MTD_MSIL2A.xml, its .SAFE folder or its zip."
            )
        if not os.path.exists(path) and not path.startswith("/vsi"):
            raise LabelMigrationError(f"The product metadata '{path}' does not exist.")
        return path
    if name.lower().endswith(".zip"):
        if not os.path.isfile(path):
            raise LabelMigrationError(f"The product '{path}' does not exist.")
        archive = "/vsizip/" + os.path.abspath(path)
        entries = gdal.ReadDir(archive) or []
        folders = [entry for entry in entries if entry.upper().endswith(".SAFE")]
        candidates = [f"{archive}/{folder}/{xml}" for folder in folders for xml in PRODUCT_XML]
        candidates += [f"{archive}/{xml}" for xml in PRODUCT_XML]
        found = [candidate for candidate in candidates if _exists(candidate)]
        if not found:
            raise LabelMigrationError(
                f"The zip '{path}' is not a Sentinel-2 SAFE product: it holds no .SAFE folder with an "
                f"MTD_MSIL1C.xml or MTD_MSIL2A.xml."
            )
        return found[0]
    if os.path.isdir(path):
        for xml in PRODUCT_XML:
            if os.path.exists(os.path.join(path, xml)):
                return os.path.join(path, xml)
        raise LabelMigrationError(
            f"The folder '{path}' is not a Sentinel-2 SAFE product: it has no MTD_MSIL1C.xml or MTD_MSIL2A.xml."
        )
    raise LabelMigrationError(f"The product '{path}' does not exist.")


def _tile_grid(tile_metadata: str, source: str) -> TileGrid:
    if not _exists(tile_metadata):
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


def _offsets(root: XmlNode, level: str, metadata_path: str) -> Dict[str, float]:
    tag = "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET"
    offsets = {}
    for element in root.iter(tag):
        band_id = metadata_number(element.get("band_id"), f"the band_id of a {tag}", metadata_path, kind=int,
                                  expected="a band number")
        if 0 <= band_id < len(SPECTRAL_BANDS):
            offsets[SPECTRAL_BANDS[band_id]] = metadata_number(
                element.text, f"the {tag} of band {SPECTRAL_BANDS[band_id]}", metadata_path)
    return offsets


def _quantification(root: XmlNode, metadata_path: str) -> float:
    """The divisor of reflectance = (DN + offset) / quantification: 0 or less would turn every pixel
    into infinity or flip its sign, so it is refused (genuine products say 10000)."""
    for tag in ("QUANTIFICATION_VALUE", "BOA_QUANTIFICATION_VALUE"):
        text = xml_text(root, tag)
        if text:
            return metadata_number(text, f"the {tag}", metadata_path, check=lambda value: value > 0,
                                   expected="a positive number (genuine products say 10000)")
    raise LabelMigrationError(f"The product metadata '{metadata_path}' has no quantification value.")


def _image_file(text: Optional[str], metadata_path: str) -> str:
    """An IMAGE_FILE entry: a path relative to the product that stays inside it."""
    relative = (text or "").strip()
    parts = relative.replace("\\", "/").split("/")
    if not relative or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative) or ".." in parts:
        raise LabelMigrationError(
            f"The product metadata '{metadata_path}' lists the image file '{relative}', which lies outside the "
            f"product; the product is damaged or hostile and is not read.")
    return relative


def _check_readable(path: str) -> None:
    """The real reason a product cannot be read (missing, empty, permission denied, a broken link)."""
    if not path:
        raise LabelMigrationError("No Sentinel-2 product was given.")
    problem = unreadable_reason(path, folder=os.path.isdir(path))
    if problem:
        raise LabelMigrationError(f"The product {problem}.")


def open_safe(path: str) -> SafeProduct:
    """Read a product's metadata: level, baseline, offsets, tile grid and band files."""
    _check_readable(path)
    metadata_path = _locate_metadata(path)
    root_folder = os.path.dirname(metadata_path)
    root = parse_xml(metadata_path, path)
    expected_level = PRODUCT_XML[os.path.basename(metadata_path)]
    kind = root.tag
    level = {"Level-1C_User_Product": "L1C", "Level-2A_User_Product": "L2A"}.get(kind)
    if level is None:
        raise LabelMigrationError(
            f"'{metadata_path}' is a '{kind}' document, not a Sentinel-2 L1C or L2A product description."
        )
    if level != expected_level:
        raise LabelMigrationError(
            f"'{metadata_path}' describes an {level} product but is named like an {expected_level} one.")
    quantification = _quantification(root, metadata_path)
    band_files: Dict[str, Dict[int, str]] = {}
    granules = set()
    for element in root.iter("IMAGE_FILE"):
        relative = _image_file(element.text, metadata_path)
        granules.add("/".join(relative.split("/")[:2]))
        match = _BAND_IN_NAME.search(relative)
        if not match:
            continue
        band = match.group(1)
        resolution = int(match.group(2)) if match.group(2) else NATIVE_RESOLUTION.get(band, 10)
        band_files.setdefault(band, {})[resolution] = f"{root_folder}/{relative}.jp2"
    if not band_files or len(granules) != 1:
        raise LabelMigrationError(
            f"The product metadata '{metadata_path}' lists {len(granules)} granules; one tile per product is supported."
        )
    granule = granules.pop()
    first_file = os.path.basename(next(iter(next(iter(band_files.values())).values())))
    return SafeProduct(
        source=path, root=root_folder, metadata_path=metadata_path, level=level,
        product_type=xml_text(root, "PRODUCT_TYPE", ""), baseline=xml_text(root, "PROCESSING_BASELINE", ""),
        quantification=quantification, offsets=_offsets(root, level, metadata_path),
        sensing_start=xml_text(root, "DATATAKE_SENSING_START", xml_text(root, "PRODUCT_START_TIME", "")),
        orbit=xml_text(root, "SENSING_ORBIT_NUMBER", ""), spacecraft=xml_text(root, "SPACECRAFT_NAME", ""),
        tile=first_file.split("_", 1)[0].lstrip("T"),
        grid=_tile_grid(f"{root_folder}/{granule}/MTD_TL.xml", path),
        band_files=band_files,
    )


def parse_band_list(product: SafeProduct, bands: Optional[Sequence[str]], with_scl: bool = False) -> List[str]:
    """Band names in output order; the default is every spectral band the product has.

    with_scl appends the scene classification (L2A only) unless it is listed already.
    """
    chosen = []
    for band in bands or product.spectral_bands:
        name = band.strip().upper()
        if re.fullmatch(r"B\d", name):
            name = f"B0{name[1]}"
        if name not in NATIVE_RESOLUTION:
            raise LabelMigrationError(
                f"'{band}' is not a Sentinel-2 band; use names such as B02, B8A, B11 or SCL."
            )
        product.band_file(name, 10)  # raises when missing
        chosen.append(name)
    if with_scl and "SCL" not in chosen:
        if "SCL" not in product.band_files:
            raise LabelMigrationError(
                f"The {product.level} product '{product.source}' has no scene classification (SCL).")
        chosen.append("SCL")
    return chosen
