"""Sentinel-2 products in ESA's EOPF Zarr format (L1C S02MSIL1C, L2A S02MSIL2A), wherever a SAFE is read.

An EOPF product opens as a SafeProduct (an EopfProduct) whose band files are Zarr arrays GDAL reads
as one-band rasters, so safetogeotiff, cropscene and migratelabels put its bands on the same grid, with
the same resampling and nodata rules, as the SAFE of the same scene.

Reader decision. GDAL's Zarr driver, no new dependency: QGIS's GDAL reads the chunks; this module
reads the JSON metadata itself (through GDAL's file systems, so a local folder and an http(s) URL,
through /vsicurl/, take one path). GDAL 3.6 (Debian 12, QGIS 3.22) reads Zarr v2 with blosc zstd but
only the withdrawn draft of v3 (meta/root/*.array.json), not the zarr.json layout of 05.12 products;
and before 3.12 GDAL finds no CRS in EOPF products. So
* the grid comes from each band array's ``proj:epsg`` / ``proj:transform`` / ``proj:shape`` attributes
  (the product's stac_discovery ``proj:epsg`` / ``proj:code`` when an array has none), never from GDAL;
* v3 arrays are read through a v2 view of the same chunk files (eopf_store.py): a ``bytes`` + ``zstd``
  chain stores a chunk exactly as v2's zstd compressor does;
* a Python ``zarr`` fallback was rejected: zarr 3 (the first to read v3) needs numpy >= 1.25 (3.1.6, the
  current release: numpy >= 2.0, checked on PyPI) and the numpy QGIS ships on Debian 12 is 1.24, which the
  plugin's installer must never replace.

Structure read (ESA's EOPF product specification, checked against real 05.11 products):
``measurements/reflectance/r10m|r20m|r60m/bNN`` uint16 DN (fill value 0 = nodata) with CF attributes
``scale_factor`` and ``add_offset`` (reflectance = DN * scale_factor + add_offset), L2A scene
classification ``conditions/mask/l2a_classification/r20m|r60m/scl``, root attributes ``stac_discovery``
(a STAC item: ``product:type``, datetime, cloud cover, tile, footprint) and ``other_metadata``.
"""
import math
import os
import re
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

from ..util.errors import LabelMigrationError
from .eopf_store import ZarrArray, gdal_path, read_json, v2_array, v3_array
from .safe_product import NATIVE_RESOLUTION, SafeProduct, TileGrid

REFLECTANCE = "measurements/reflectance"
SCL_ARRAY = "conditions/mask/l2a_classification/r{resolution}m/scl"
LEVELS = {"S02MSIL1C": "L1C", "S02MSIL2A": "L2A"}
# the arrays of each resolution group, as ESA's products hold them (L2A adds the coarser copies)
GROUPS = {
    "L1C": {10: ("b02", "b03", "b04", "b08"), 20: ("b05", "b06", "b07", "b11", "b12", "b8a"),
            60: ("b01", "b09", "b10")},
    "L2A": {10: ("b02", "b03", "b04", "b08"),
            20: ("b01", "b02", "b03", "b04", "b05", "b06", "b07", "b11", "b12", "b8a"),
            60: ("b01", "b02", "b03", "b04", "b05", "b06", "b07", "b09", "b11", "b12", "b8a")},
}
STORE_FILES = (".zmetadata", ".zgroup", "zarr.json")
READ_MARGIN = 8  # native pixels around a resampled window fetched for remote v3 reads (the kernels' reach)


def is_eopf_product(path: str) -> bool:
    """Whether path names an EOPF Zarr product (a .zarr folder or URL, or a folder holding its root group)."""
    if not path or not isinstance(path, str):
        return False
    if os.path.basename(path.rstrip("/")).lower().endswith(".zarr"):
        return True
    return os.path.isdir(path) and os.path.isdir(os.path.join(path, "measurements")) and any(
        os.path.isfile(os.path.join(path, name)) for name in STORE_FILES)


class ZarrStore:
    """The metadata of a Zarr v2 or v3 store: root attributes and arrays, consolidated where it can."""

    def __init__(self, root: str):
        self.root = root
        top = read_json(f"{root}/zarr.json")
        if top is not None and top.get("zarr_format") == 3:
            self.zarr_format, self.metadata_path = 3, f"{root}/zarr.json"
            self.attrs = top.get("attributes") or {}
            self._consolidated = (top.get("consolidated_metadata") or {}).get("metadata") or {}
            return
        consolidated = read_json(f"{root}/.zmetadata")
        if consolidated is None and read_json(f"{root}/.zgroup") is None:
            shown = root[len("/vsicurl/"):] if root.startswith("/vsicurl/") else root  # the URL as people gave it
            raise LabelMigrationError(f"'{shown}' is not a Zarr product (or not there): it has no zarr.json, "
                                      f".zmetadata or .zgroup.")
        self.zarr_format = 2
        self.metadata_path = f"{root}/.zmetadata" if consolidated is not None else f"{root}/.zgroup"
        self._consolidated = (consolidated or {}).get("metadata") or {}
        self.attrs = self._v2_json(".zattrs") or {}

    def _v2_json(self, key: str) -> Optional[dict]:
        if key in self._consolidated:
            return self._consolidated[key]
        return None if self._consolidated else read_json(f"{self.root}/{key}")

    def array(self, name: str) -> Optional[ZarrArray]:
        try:
            if self.zarr_format == 3:
                header = self._consolidated.get(name) or (
                    None if self._consolidated else read_json(f"{self.root}/{name}/zarr.json"))
                if header is None or header.get("node_type") != "array":
                    return None
                return v3_array(self.root, name, header)
            header = self._v2_json(f"{name}/.zarray")
            return None if header is None else v2_array(self.root, name, header, self._v2_json(f"{name}/.zattrs") or {})
        except (KeyError, TypeError, ValueError) as error:
            raise LabelMigrationError(f"The Zarr array '{self.root}/{name}' has damaged metadata ({error}).") from error


@dataclass
class EopfProduct(SafeProduct):
    zarr_format: int = 2
    cloud_cover: Optional[float] = None
    footprint: Optional[dict] = None  # the STAC item's GeoJSON geometry
    arrays: Dict[Tuple[str, int], ZarrArray] = field(default_factory=dict)

    def fetch(self, bands: Sequence[str], resolution: int,
              bounds: Optional[Tuple[float, float, float, float]] = None) -> None:
        """Before reading a remote v3 product: bring the chunks under bounds (minx, miny, maxx, maxy in
        the product's CRS; None: all) of the arrays the bands are read from at that resolution."""
        for band in bands:
            _, file_resolution = self.band_file(band, resolution)
            array = self.arrays[(band, file_resolution)]
            if bounds is None:
                array.fetch(0, 0, array.shape[1], array.shape[0])
                continue
            minx, miny, maxx, maxy = bounds
            step, margin = float(file_resolution), READ_MARGIN if file_resolution != resolution else 0
            array.fetch(math.floor((minx - self.grid.ulx) / step + 1e-9) - margin,
                        math.floor((self.grid.uly - maxy) / step + 1e-9) - margin,
                        math.ceil((maxx - self.grid.ulx) / step - 1e-9) + margin,
                        math.ceil((self.grid.uly - miny) / step - 1e-9) + margin)


def open_product(path: str) -> SafeProduct:
    """A SAFE or an EOPF Zarr product, whichever path is."""
    if is_eopf_product(path):
        return open_eopf(path)
    from .safe import open_safe
    return open_safe(path)


def fetch_for_reading(products: Sequence[SafeProduct], bands: Sequence[str], resolution: int,
                      bounds: Optional[Tuple[float, float, float, float]] = None) -> None:
    for product in products:
        if isinstance(product, EopfProduct):
            product.fetch(bands, resolution, bounds)


def open_eopf(path: str, with_band_paths: bool = True) -> EopfProduct:
    """Read an EOPF product's metadata: level, radiometry, grid and band arrays (with_band_paths=False:
    metadata only, for indexing)."""
    if not path:
        raise LabelMigrationError("No Sentinel-2 product was given.")
    root = gdal_path(path)
    if not root.startswith("/vsi") and not os.path.isdir(root):
        raise LabelMigrationError(f"The product '{path}' does not exist or is not a folder.")
    store = ZarrStore(root)
    stac = store.attrs.get("stac_discovery") if isinstance(store.attrs.get("stac_discovery"), dict) else {}
    properties = stac.get("properties") if isinstance(stac.get("properties"), dict) else {}
    name = os.path.basename(root)
    product_type = str(properties.get("product:type") or "")
    level = LEVELS.get(product_type) or next((lvl for lvl in ("L1C", "L2A") if f"MSI{lvl}" in name.upper()), None)
    if level is None:
        raise LabelMigrationError(
            f"'{path}' is not a Sentinel-2 L1C or L2A EOPF product (product:type {product_type or 'missing'}).")
    arrays = {}
    for resolution, names in GROUPS[level].items():
        for band in names:
            array = store.array(f"{REFLECTANCE}/r{resolution}m/{band}")
            if array is not None:
                arrays[(band.upper(), resolution)] = array
        if level == "L2A" and resolution != 10:
            array = store.array(SCL_ARRAY.format(resolution=resolution))
            if array is not None:
                arrays[("SCL", resolution)] = array
    if not any(band != "SCL" for band, _ in arrays):
        raise LabelMigrationError(f"The {level} product '{path}' has no arrays under {REFLECTANCE}/.")
    quantification, offsets = _radiometry(arrays, path)
    band_files: Dict[str, Dict[int, str]] = {}
    for (band, resolution), array in arrays.items():
        band_files.setdefault(band, {})[resolution] = array.band_path() if with_band_paths else array.path
    sensing = str(properties.get("start_datetime") or properties.get("datetime") or "")
    cloud = properties.get("eo:cloud_cover")
    return EopfProduct(
        source=path, root=root, metadata_path=store.metadata_path, level=level,
        product_type=product_type, baseline=_baseline(properties, name), quantification=quantification,
        offsets=offsets, sensing_start=sensing, orbit=str(properties.get("sat:relative_orbit", "")),
        spacecraft=str(properties.get("platform", "")), tile=_tile(properties, name),
        grid=_grid(arrays, properties, store.attrs, path), band_files=band_files,
        zarr_format=store.zarr_format, cloud_cover=float(cloud) if isinstance(cloud, (int, float)) else None,
        footprint=stac.get("geometry") if isinstance(stac.get("geometry"), dict) else None, arrays=arrays)


def _radiometry(arrays: Dict[Tuple[str, int], ZarrArray], path: str) -> Tuple[float, Dict[str, float]]:
    """(quantification, offset per band) such that reflectance = (DN + offset) / quantification, from
    each band array's own scale_factor and add_offset (at its native resolution)."""
    scales, offsets = {}, {}
    for band in sorted({band for band, _ in arrays if band != "SCL"}):
        array = arrays.get((band, NATIVE_RESOLUTION[band])) or min(
            (a for (b, _), a in arrays.items() if b == band), key=lambda a: a.shape[0], default=None)
        scale, add = array.attrs.get("scale_factor", 1.0), array.attrs.get("add_offset", 0.0)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (scale, add)) or scale <= 0:
            raise LabelMigrationError(
                f"The array '{array.path}' has the radiometry scale_factor {scale!r}, add_offset {add!r}.")
        scales[band], offsets[band] = float(scale), float(add)
    distinct = sorted(set(scales.values()))
    if distinct[-1] - distinct[0] > 1e-9 * distinct[-1]:
        raise LabelMigrationError(
            f"The bands of '{path}' have different scale factors ({', '.join(map(str, distinct))}); "
            f"one per product is supported.")
    quantification = round(1.0 / distinct[0], 6)
    return quantification, {band: round(add * quantification, 6) for band, add in offsets.items()}


def _epsg(attrs: dict) -> Optional[int]:
    if isinstance(attrs.get("proj:epsg"), int):
        return attrs["proj:epsg"]
    code = attrs.get("proj:code") or attrs.get("horizontal_CRS_code")
    match = re.fullmatch(r"EPSG:(\d+)", code) if isinstance(code, str) else None
    return int(match.group(1)) if match else None


def _grid(arrays: Dict[Tuple[str, int], ZarrArray], properties: dict, root_attrs: dict, path: str) -> TileGrid:
    """The tile grid from the band arrays' proj: attributes, checked to agree between resolutions."""
    other = root_attrs.get("other_metadata") if isinstance(root_attrs.get("other_metadata"), dict) else {}
    fallback_epsg = _epsg(properties) or _epsg(other)
    sizes, corners, epsgs = {}, {}, set()
    for (band, resolution), array in sorted(arrays.items(), key=lambda item: item[0][1]):
        transform = array.attrs.get("proj:transform")
        if not isinstance(transform, list) or len(transform) < 6 or not all(
                isinstance(v, (int, float)) for v in transform[:6]):
            raise LabelMigrationError(f"The array '{array.path}' has no usable proj:transform attribute.")
        if (abs(transform[0] - resolution) > 1e-6 or transform[1] or transform[3]
                or abs(transform[4] + resolution) > 1e-6):
            raise LabelMigrationError(
                f"The array '{array.path}' has the proj:transform {transform[:6]}, not a north-up {resolution} m grid.")
        epsg = _epsg(array.attrs) or fallback_epsg
        if epsg is None:
            raise LabelMigrationError(f"The product '{path}' names no CRS (proj:epsg) for '{array.path}'.")
        epsgs.add(epsg)
        shape = array.attrs.get("proj:shape") or list(array.shape)
        if list(shape) != list(array.shape):
            raise LabelMigrationError(f"The array '{array.path}' is {array.shape} but its proj:shape is {shape}.")
        if sizes.setdefault(resolution, (array.shape[1], array.shape[0])) != (array.shape[1], array.shape[0]):
            raise LabelMigrationError(f"The {resolution} m arrays of '{path}' differ in size ('{array.path}').")
        corners[resolution] = (float(transform[2]), float(transform[5]))
    finest = min(corners)
    if len(epsgs) != 1 or any(abs(x - corners[finest][0]) > 1e-6 or abs(y - corners[finest][1]) > 1e-6
                              for x, y in corners.values()):
        raise LabelMigrationError(f"The arrays of '{path}' do not share one tile grid (CRS or corner differ).")
    return TileGrid(epsg=epsgs.pop(), ulx=corners[finest][0], uly=corners[finest][1], sizes=sizes)


def _baseline(properties: dict, name: str) -> str:
    for key in ("processing:version", "s2:processing_baseline"):
        if isinstance(properties.get(key), str) and re.fullmatch(r"\d\d\.\d\d", properties[key]):
            return properties[key]
    match = re.search(r"_N(\d\d)(\d\d)_", name)
    return f"{match.group(1)}.{match.group(2)}" if match else ""


def _tile(properties: dict, name: str) -> str:
    for key in ("grid:code", "s2:mgrs_tile", "mgrs:tile"):
        value = properties.get(key)
        if isinstance(value, str) and re.search(r"\d\d[A-Z]{3}$", value):
            return value[-5:]
    match = re.search(r"_T(\d\d[A-Z]{3})_", name)
    return match.group(1) if match else ""
