"""Sentinel-2 SAFE products (L1C and L2A, compact naming): metadata and virtual band stacks.

A product is read where it lies: a .SAFE folder, a zip (through /vsizip/, never extracted) or its
MTD_MSIL1C.xml / MTD_MSIL2A.xml. Bands are stacked on one grid by GDAL virtual rasters (warped
VRTs for bands of another resolution), so converting or cropping decodes only the JP2 blocks a
window needs.
"""
import datetime as dt
import os
import re
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from osgeo import gdal, osr

from .errors import LabelMigrationError

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
    handle = gdal.VSIFOpenL(path, "rb")
    if handle is None:
        raise LabelMigrationError(f"Cannot read '{path}'.")
    try:
        stat = gdal.VSIStatL(path)
        data = gdal.VSIFReadL(1, stat.size if stat else 1 << 24, handle)
    finally:
        gdal.VSIFCloseL(handle)
    return data.decode("utf-8", errors="replace")


def _parse_xml(path: str, source: str) -> ElementTree.Element:
    try:
        root = ElementTree.fromstring(_read_text(path))
    except ElementTree.ParseError as error:
        raise LabelMigrationError(f"The product metadata '{path}' of '{source}' is not valid XML: {error}.") from error
    for element in root.iter():  # drop namespaces: element names are unique enough
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def _text(root: ElementTree.Element, tag: str, default: Optional[str] = None) -> Optional[str]:
    element = root.find(f".//{tag}")
    return element.text.strip() if element is not None and element.text else default


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
    root = _parse_xml(tile_metadata, source)
    code = _text(root, "HORIZONTAL_CS_CODE", "")
    match = re.search(r"EPSG:(\d+)", code or "")
    if not match:
        raise LabelMigrationError(f"The tile metadata '{tile_metadata}' names no EPSG code.")
    sizes = {}
    for size in root.iter("Size"):
        sizes[int(size.get("resolution"))] = (int(_text(size, "NCOLS")), int(_text(size, "NROWS")))
    origin = next((p for p in root.iter("Geoposition") if p.get("resolution") == "10"), None)
    origin = origin if origin is not None else next(root.iter("Geoposition"), None)
    if origin is None or 10 not in sizes:
        raise LabelMigrationError(f"The tile metadata '{tile_metadata}' has no 10 m geoposition and size.")
    return TileGrid(int(match.group(1)), float(_text(origin, "ULX")), float(_text(origin, "ULY")), sizes)


def _offsets(root: ElementTree.Element, level: str) -> Dict[str, float]:
    tag = "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET"
    offsets = {}
    for element in root.iter(tag):
        band_id = int(element.get("band_id"))
        if 0 <= band_id < len(SPECTRAL_BANDS):
            offsets[SPECTRAL_BANDS[band_id]] = float(element.text)
    return offsets


def open_safe(path: str) -> SafeProduct:
    """Read a product's metadata: level, baseline, offsets, tile grid and band files."""
    metadata_path = _locate_metadata(path)
    root_folder = os.path.dirname(metadata_path)
    root = _parse_xml(metadata_path, path)
    expected_level = PRODUCT_XML[os.path.basename(metadata_path)]
    kind = root.tag
    level = {"Level-1C_User_Product": "L1C", "Level-2A_User_Product": "L2A"}.get(kind)
    if level is None:
        raise LabelMigrationError(
            f"'{metadata_path}' is a '{kind}' document, not a Sentinel-2 L1C or L2A product description."
        )
    if level != expected_level:
        raise LabelMigrationError(f"'{metadata_path}' describes an {level} product but is named like an {expected_level} one.")
    quantification = _text(root, "QUANTIFICATION_VALUE") or _text(root, "BOA_QUANTIFICATION_VALUE")
    if not quantification:
        raise LabelMigrationError(f"The product metadata '{metadata_path}' has no quantification value.")
    band_files: Dict[str, Dict[int, str]] = {}
    granules = set()
    for element in root.iter("IMAGE_FILE"):
        relative = element.text.strip()
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
        product_type=_text(root, "PRODUCT_TYPE", ""), baseline=_text(root, "PROCESSING_BASELINE", ""),
        quantification=float(quantification), offsets=_offsets(root, level),
        sensing_start=_text(root, "DATATAKE_SENSING_START", _text(root, "PRODUCT_START_TIME", "")),
        orbit=_text(root, "SENSING_ORBIT_NUMBER", ""), spacecraft=_text(root, "SPACECRAFT_NAME", ""),
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
            raise LabelMigrationError(f"The {product.level} product '{product.source}' has no scene classification (SCL).")
        chosen.append("SCL")
    return chosen


@dataclass
class BandStack:
    """A virtual raster (in /vsimem/) with the product's bands on one grid; release() frees it."""

    path: str
    bands: List[str]
    resolution: int
    reflectance: bool
    _memory_files: List[str] = field(default_factory=list)

    def release(self) -> None:
        for path in self._memory_files:
            gdal.Unlink(path)
        self._memory_files = []


def band_stack(products: Sequence[SafeProduct], bands: Sequence[str], resolution: int = 10,
               resampling: str = "bilinear", reflectance: bool = False) -> BandStack:
    """Stack bands of one product (or several tiles of one datatake, mosaicked) on one grid.

    Bands of another resolution go through a warped VRT with the given resampling (nearest for
    SCL) and nodata 0, so their edges do not blend with the nodata outside the swath.
    """
    if resolution not in RESOLUTIONS:
        raise LabelMigrationError(f"The resolution must be 10, 20 or 60 m, not {resolution}.")
    first = products[0]
    for other in products[1:]:
        if other.datatake != first.datatake:
            raise LabelMigrationError(
                f"'{other.source}' and '{first.source}' come from different datatakes; only tiles of one "
                f"datatake (same satellite, sensing time and orbit) are mosaicked."
            )
        if other.grid.epsg != first.grid.epsg:
            raise LabelMigrationError(
                f"'{other.source}' (EPSG:{other.grid.epsg}) and '{first.source}' (EPSG:{first.grid.epsg}) lie in "
                f"different UTM zones; mosaicking across zones is not supported."
            )
    folder = f"/vsimem/labelmigration-{uuid.uuid4().hex}"
    stack = BandStack(path=f"{folder}/stack.vrt", bands=list(bands), resolution=resolution, reflectance=reflectance)
    # the union of the tiles' extents on the target grid
    min_x = min(p.grid.ulx for p in products)
    max_y = max(p.grid.uly for p in products)
    max_x = max(p.grid.ulx + p.grid.size(resolution)[0] * resolution for p in products)
    min_y = min(p.grid.uly - p.grid.size(resolution)[1] * resolution for p in products)
    width, height = round((max_x - min_x) / resolution), round((max_y - min_y) / resolution)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(first.grid.epsg)
    bands_xml = []
    try:
        for position, band in enumerate(bands, start=1):
            sources = []
            for index, product in enumerate(products):
                source = _band_on_grid(product, band, resolution, resampling, folder, index, stack._memory_files)
                ulx, uly = product.grid.ulx, product.grid.uly
                columns, rows = product.grid.size(resolution)
                sources.append((source, round((ulx - min_x) / resolution), round((max_y - uly) / resolution),
                                columns, rows))
            bands_xml.append(_stack_band_xml(position, band, first, sources, reflectance))
        transform = ",".join(repr(v) for v in (min_x, float(resolution), 0.0, max_y, 0.0, -float(resolution)))
        document = (
            f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
            f"<SRS>{escape(srs.ExportToWkt())}</SRS><GeoTransform>{transform}</GeoTransform>"
            f'<Metadata><MDI key="SAFE_PRODUCTS">{escape(";".join(p.name for p in products))}</MDI>'
            f'<MDI key="PROCESSING_BASELINE">{escape(first.baseline)}</MDI>'
            f'<MDI key="SENSING_TIME">{escape(first.sensing_start)}</MDI></Metadata>'
            + "".join(bands_xml) + "</VRTDataset>"
        )
        gdal.FileFromMemBuffer(stack.path, document.encode())
        stack._memory_files.append(stack.path)
    except BaseException:
        stack.release()
        raise
    return stack


def _band_on_grid(product: SafeProduct, band: str, resolution: int, resampling: str, folder: str, index: int,
                  memory_files: List[str]) -> str:
    """A GDAL path to the band on the tile's grid at the target resolution."""
    path, native = product.band_file(band, resolution)
    if not _exists(path):
        raise LabelMigrationError(f"The band file '{path}' of product '{product.source}' is missing.")
    try:
        gdal.Open(path)
    except RuntimeError as error:
        raise LabelMigrationError(
            f"The band file '{path}' of product '{product.source}' is corrupt or truncated: {str(error).strip()}."
        ) from error
    if native == resolution:
        return path
    columns, rows = product.grid.size(resolution)
    ulx, uly = product.grid.ulx, product.grid.uly
    warped = f"{folder}/{index}_{band}_{resolution}m.vrt"
    algorithm = "near" if band in CLASS_BANDS else resampling
    dataset = gdal.Warp(
        warped, path, format="VRT", outputBounds=(ulx, uly - rows * resolution, ulx + columns * resolution, uly),
        width=columns, height=rows, resampleAlg=algorithm, srcNodata=0, dstNodata=0,
        multithread=True, warpOptions=["NUM_THREADS=ALL_CPUS"],
    )
    if dataset is None:
        raise LabelMigrationError(f"Cannot read the band file '{path}' of product '{product.source}'.")
    dataset = None
    memory_files.append(warped)
    return warped


def _stack_band_xml(position: int, band: str, product: SafeProduct, sources, reflectance: bool) -> str:
    scaled = reflectance and band not in CLASS_BANDS
    data_type = "Float32" if scaled else ("Byte" if band in CLASS_BANDS else "UInt16")
    nodata = "nan" if scaled else "0"
    parts = [f'<VRTRasterBand dataType="{data_type}" band="{position}">',
             f"<Description>{band}</Description><NoDataValue>{nodata}</NoDataValue>"]
    quantification, offset = product.quantification, product.offset(band)
    if not scaled and band not in CLASS_BANDS:
        parts.append(f"<Offset>{offset / quantification!r}</Offset><Scale>{1.0 / quantification!r}</Scale>")
    for path, x_offset, y_offset, columns, rows in sources:
        rect = f'<SrcRect xOff="0" yOff="0" xSize="{columns}" ySize="{rows}"/>' \
               f'<DstRect xOff="{x_offset}" yOff="{y_offset}" xSize="{columns}" ySize="{rows}"/>'
        source = f"<SourceFilename relativeToVRT=\"0\">{escape(path)}</SourceFilename><SourceBand>1</SourceBand>"
        if scaled:
            parts.append(f"<ComplexSource>{source}{rect}<NODATA>0</NODATA>"
                         f"<ScaleOffset>{offset / quantification!r}</ScaleOffset>"
                         f"<ScaleRatio>{1.0 / quantification!r}</ScaleRatio></ComplexSource>")
        else:
            parts.append(f"<ComplexSource>{source}{rect}<NODATA>0</NODATA></ComplexSource>")
    parts.append("</VRTRasterBand>")
    return "".join(parts)


def sensing_date(product: SafeProduct) -> Optional[dt.date]:
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", product.sensing_start or "")
    return dt.date(*(int(g) for g in match.groups())) if match else None
