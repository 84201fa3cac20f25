"""Bands of Sentinel-2 products on one grid, read window by window.

Bands whose native resolution is the target's are read as they are. Other bands are resampled
by GDAL from only the JP2 blocks a window needs, with DN 0 kept out of the kernel: a bare VRT
source would blend nodata into the swath edge. Where a window holds no nodata the plain (and
faster) resampling gives the same values, so it is used there; elsewhere the file is wrapped with
nodata declared (GDAL's mask-aware kernels) and a pixel is valid exactly where the source pixel
under its centre is. Tiles of one datatake are mosaicked: a later tile fills where earlier ones
have no data.
"""
import math
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

import numpy as np
from osgeo import gdal, osr

from .errors import LabelMigrationError
from .safe import CLASS_BANDS, RESOLUTIONS, SafeProduct

# GDAL's names of the kernels in VRT sources
VRT_RESAMPLING = {"near": "nearest", "bilinear": "bilinear", "cubic": "cubic", "cubicspline": "cubicspline",
                  "lanczos": "lanczos", "average": "average"}


@dataclass
class _BandSource:
    """One product's file for one band, placed on the stack's grid."""

    path: str
    native_size: Tuple[int, int]  # columns, rows of the file
    size: Tuple[int, int]  # columns, rows on the target grid
    origin: Tuple[int, int]  # column, row of the tile's corner on the stack's grid
    plain_vrt: Optional[str] = None  # resampled as it is
    masked_vrt: Optional[str] = None  # resampled with nodata 0 declared

    @property
    def resampled(self) -> bool:
        return self.native_size != self.size


@dataclass
class BandStack:
    products: List[SafeProduct]
    bands: List[str]
    resolution: int
    reflectance: bool
    width: int
    height: int
    transform: Tuple[float, float, float, float, float, float]
    srs_wkt: str
    _sources: Dict[str, List[_BandSource]] = field(default_factory=dict)
    _memory_files: List[str] = field(default_factory=list)
    _datasets: Dict[str, gdal.Dataset] = field(default_factory=dict)

    def dtype(self, band: str) -> np.dtype:
        if self.reflectance and band not in CLASS_BANDS:
            return np.dtype(np.float32)
        return np.dtype(np.uint8 if band in CLASS_BANDS else np.uint16)

    def nodata(self, band: str) -> float:
        return float("nan") if self.dtype(band).kind == "f" else 0.0

    def offset_and_scale(self, band: str) -> Tuple[float, float]:
        """What turns the stored values into reflectance (0, 1 once converted; none for SCL)."""
        if band in CLASS_BANDS or self.reflectance:
            return 0.0, 1.0
        product = self.products[0]
        return product.offset(band) / product.quantification, 1.0 / product.quantification

    def read(self, band: str, xoff: int, yoff: int, width: int, height: int) -> np.ndarray:
        """A window of one band on the stack's grid; nodata is 0 (DN) or NaN (reflectance)."""
        sources = self._sources[band]
        single = len(sources) == 1 and sources[0].origin == (0, 0)
        if single:  # one tile: no mosaic bookkeeping
            values, valid = self._read_source(band, sources[0], xoff, yoff, width, height)
            return self._finish(band, values, valid)
        values = np.zeros((height, width), dtype=np.uint16 if band not in CLASS_BANDS else np.uint8)
        valid = np.zeros((height, width), dtype=bool)
        for source in sources:
            # the part of the window this tile covers, in the tile's own target-grid pixels
            x0, y0 = max(xoff, source.origin[0]), max(yoff, source.origin[1])
            x1 = min(xoff + width, source.origin[0] + source.size[0])
            y1 = min(yoff + height, source.origin[1] + source.size[1])
            if x1 <= x0 or y1 <= y0:
                continue
            part_values, part_valid = self._read_source(band, source, x0 - source.origin[0], y0 - source.origin[1],
                                                        x1 - x0, y1 - y0)
            target = (slice(y0 - yoff, y1 - yoff), slice(x0 - xoff, x1 - xoff))
            fill = part_valid & ~valid[target]
            values[target][fill] = part_values[fill]
            valid[target] |= part_valid
        return self._finish(band, values, valid)

    def _finish(self, band: str, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        if band in CLASS_BANDS or not self.reflectance:
            return values
        product = self.products[0]
        reflectance = (values.astype(np.float32) + np.float32(product.offset(band))) / np.float32(product.quantification)
        reflectance[~valid] = np.nan
        return reflectance

    def _dataset(self, path: str) -> gdal.Dataset:
        if path not in self._datasets:
            self._datasets[path] = gdal.Open(path)
        return self._datasets[path]

    def _read_source(self, band: str, source: _BandSource, x: int, y: int, width: int, height: int):
        if not source.resampled:
            values = self._dataset(source.path).GetRasterBand(1).ReadAsArray(x, y, width, height)
            return values, values != 0
        # the native pixels under the window's pixel centres, and their neighbours (kernel support)
        scale_x = source.native_size[0] / source.size[0]
        scale_y = source.native_size[1] / source.size[1]
        columns = np.minimum(((np.arange(x, x + width) + 0.5) * scale_x).astype(np.int64), source.native_size[0] - 1)
        rows = np.minimum(((np.arange(y, y + height) + 0.5) * scale_y).astype(np.int64), source.native_size[1] - 1)
        margin = 3 * int(math.ceil(max(1.0, scale_x, scale_y))) + 1  # covers lanczos, also when downsampling
        column0, row0 = max(0, int(columns[0]) - margin), max(0, int(rows[0]) - margin)
        column1 = min(source.native_size[0], int(columns[-1]) + margin + 1)
        row1 = min(source.native_size[1], int(rows[-1]) + margin + 1)
        native = self._dataset(source.path).GetRasterBand(1).ReadAsArray(column0, row0, column1 - column0,
                                                                         row1 - row0)
        native_valid = native != 0
        nearest_valid = native_valid[np.ix_(rows - row0, columns - column0)]
        if band in CLASS_BANDS:  # nearest neighbour: the native pixel under each centre
            return native[np.ix_(rows - row0, columns - column0)], nearest_valid
        vrt = source.plain_vrt if native_valid.all() else source.masked_vrt
        values = self._dataset(vrt).GetRasterBand(1).ReadAsArray(x, y, width, height)
        values[~nearest_valid] = 0
        return values, nearest_valid

    def close(self) -> None:
        self._datasets.clear()
        for path in self._memory_files:
            gdal.Unlink(path)
        self._memory_files = []


def band_stack(products: Sequence[SafeProduct], bands: Sequence[str], resolution: int = 10,
               resampling: str = "bilinear", reflectance: bool = False) -> BandStack:
    """The bands of one product, or of tiles of one datatake mosaicked, on one grid."""
    if resolution not in RESOLUTIONS:
        raise LabelMigrationError(f"The resolution must be 10, 20 or 60 m, not {resolution}.")
    if resampling not in VRT_RESAMPLING:
        raise LabelMigrationError(f"Unknown resampling '{resampling}'; use one of {', '.join(VRT_RESAMPLING)}.")
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
    min_x = min(p.grid.ulx for p in products)
    max_y = max(p.grid.uly for p in products)
    max_x = max(p.grid.ulx + p.grid.size(resolution)[0] * resolution for p in products)
    min_y = min(p.grid.uly - p.grid.size(resolution)[1] * resolution for p in products)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(first.grid.epsg)
    stack = BandStack(
        products=list(products), bands=list(bands), resolution=resolution, reflectance=reflectance,
        width=round((max_x - min_x) / resolution), height=round((max_y - min_y) / resolution),
        transform=(min_x, float(resolution), 0.0, max_y, 0.0, -float(resolution)), srs_wkt=srs.ExportToWkt(),
    )
    folder = f"/vsimem/labelmigration-{uuid.uuid4().hex}"
    try:
        for band in bands:
            stack._sources[band] = [
                _band_source(product, band, resolution, resampling, min_x, max_y, f"{folder}/{index}_{band}",
                             stack._memory_files, stack._datasets)
                for index, product in enumerate(products)
            ]
    except BaseException:
        stack.close()
        raise
    return stack


def _band_source(product: SafeProduct, band: str, resolution: int, resampling: str, min_x: float, max_y: float,
                 name: str, memory_files: List[str], datasets: Dict[str, gdal.Dataset]) -> _BandSource:
    path, _native = product.band_file(band, resolution)
    if gdal.VSIStatL(path) is None:
        raise LabelMigrationError(f"The band file '{path}' of product '{product.source}' is missing.")
    try:
        dataset = gdal.Open(path)
    except RuntimeError as error:
        raise LabelMigrationError(
            f"The band file '{path}' of product '{product.source}' is corrupt or truncated: {str(error).strip()}."
        ) from error
    native_size = (dataset.RasterXSize, dataset.RasterYSize)
    data_type = gdal.GetDataTypeName(dataset.GetRasterBand(1).DataType)
    datasets[path] = dataset  # kept open for reading
    size = product.grid.size(resolution)
    origin = (round((product.grid.ulx - min_x) / resolution), round((max_y - product.grid.uly) / resolution))
    source = _BandSource(path=path, native_size=native_size, size=size, origin=origin)
    if source.resampled and band not in CLASS_BANDS:
        kernel = VRT_RESAMPLING[resampling]
        with_nodata = f"{name}_nodata.vrt"
        documents = {
            with_nodata: _vrt(native_size, data_type, path, native_size, nodata=True),
            f"{name}_plain.vrt": _vrt(size, data_type, path, native_size, kernel=kernel),
            f"{name}_masked.vrt": _vrt(size, data_type, with_nodata, native_size, kernel=kernel),
        }
        for vrt_path, document in documents.items():
            gdal.FileFromMemBuffer(vrt_path, document.encode())
            memory_files.append(vrt_path)
        source.plain_vrt, source.masked_vrt = f"{name}_plain.vrt", f"{name}_masked.vrt"
    return source


def _vrt(size: Tuple[int, int], data_type: str, path: str, source_size: Tuple[int, int], kernel: str = "",
         nodata: bool = False) -> str:
    """A one-band VRT showing path's band 1 at size (resampled with kernel when sizes differ)."""
    rectangles = (f'<SrcRect xOff="0" yOff="0" xSize="{source_size[0]}" ySize="{source_size[1]}"/>'
                  f'<DstRect xOff="0" yOff="0" xSize="{size[0]}" ySize="{size[1]}"/>')
    kind = "ComplexSource" if kernel else "SimpleSource"
    attribute = f' resampling="{kernel}"' if kernel else ""
    return (f'<VRTDataset rasterXSize="{size[0]}" rasterYSize="{size[1]}">'
            f'<VRTRasterBand dataType="{data_type}" band="1">'
            + ("<NoDataValue>0</NoDataValue>" if nodata else "")
            + f'<{kind}{attribute}><SourceFilename relativeToVRT="0">{escape(path)}</SourceFilename>'
            f"<SourceBand>1</SourceBand>{rectangles}</{kind}></VRTRasterBand></VRTDataset>")
