"""Small but structurally real Sentinel-2 EOPF Zarr products (L1C S02MSIL1C, L2A S02MSIL2A), written
after ESA's EOPF product specification, with the same pixels as a SAFE of the same scene.

``make_eopf_product(folder, safe, zarr_format)`` writes ``<safe name>.zarr`` for a SAFE description of
tests/support/safe_products.py (``make_safe_product`` or ``describe_safe_product``, which writes nothing):

* groups ``measurements/reflectance/r10m|r20m|r60m`` with the band arrays (L1C: b02 b03 b04 b08 / b05 b06
  b07 b11 b12 b8a / b01 b09 b10; L2A r20m and r60m also the coarser copies the SAFE's R20m/R60m hold)
  and ``x`` / ``y`` coordinate arrays (pixel centres, float64) in each resolution group;
  L2A ``conditions/mask/l2a_classification/r20m|r60m/scl``, ``quality/atmosphere/r10m|r20m|r60m/aot|wvp``,
  ``quality/probability/r20m/cld|snw``; ``conditions/geometry`` and ``quality/mask`` as empty groups;
* band arrays uint16 DN, fill value 0, attributes ``scale_factor`` (1 / quantification), ``add_offset``
  (offset / quantification: -0.1 from baseline 04.00 on, 0 before), ``proj:epsg``, ``proj:wkt2``,
  ``proj:transform``, ``proj:shape``, ``proj:bbox``, ``long_name``, ``units``, dimensions y, x;
* the root attributes ``stac_discovery`` (a STAC item: ``product:type``, datetime, ``eo:cloud_cover``,
  ``grid:code``, ``sat:relative_orbit``, ``processing:version``, ``proj:code``, the footprint) and
  ``other_metadata``;
* chunks as ESA cuts them, scaled to the tile side: L1C 1/6 of the side at every resolution
  (1830 / 915 / 305 px of a full tile), L2A 1/2 at 10 m and whole at 20 and 60 m (5490 / 5490 / 1830);
* ``zarr_format=2``: ``.zgroup`` / ``.zattrs`` / ``.zarray``, consolidated ``.zmetadata``, chunks
  blosc zstd (baseline 05.11 products); ``zarr_format=3``: ``zarr.json`` per node (consolidated metadata
  in the root's), default chunk keys ``c/<row>/<column>``, codecs bytes + zstd (05.12 products).

Chunks are encoded by GDAL's own Zarr v2 writer (blosc zstd, or plain zstd whose frames are what the v3
bytes + zstd chain stores), so no zarr package is needed.
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
from osgeo import gdal, osr

from .safe_products import SafeProduct, ValueField, _Names, _footprint

REFLECTANCE = {
    "L1C": {10: ("B02", "B03", "B04", "B08"), 20: ("B05", "B06", "B07", "B11", "B12", "B8A"),
            60: ("B01", "B09", "B10")},
    "L2A": {10: ("B02", "B03", "B04", "B08"),
            20: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B11", "B12", "B8A"),
            60: ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B09", "B11", "B12", "B8A")},
}
CHUNK_FRACTION = {"L1C": {10: 6, 20: 6, 60: 6}, "L2A": {10: 2, 20: 1, 60: 1}}  # chunks per tile side


@dataclass
class EopfProduct:
    """What make_eopf_product wrote."""
    path: Path
    safe: SafeProduct
    zarr_format: int
    arrays: Dict[str, Tuple[str, int]] = field(default_factory=dict)  # array path -> (band, resolution)
    chunks: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # array path -> chunk shape

    def array_dir(self, name: str) -> Path:
        return self.path / name

    def chunk_file(self, name: str, row: int, column: int) -> Path:
        key = f"c/{row}/{column}" if self.zarr_format == 3 else f"{row}.{column}"
        return self.path / name / key


def describe_safe_product(level: str = "L2A", baseline: str = "05.11", tile: str = "32UPU", epsg: int = 32632,
                          ulx: float = 699960.0, uly: float = 5400000.0, size_10m: int = 216,
                          sensing=None, relative_orbit: int = 108, cloud_cover: float = 12.5,
                          nodata_corner: bool = True, seed: int = 0, spacecraft: str = "S2B") -> SafeProduct:
    """The description make_safe_product would return, without writing the SAFE (for Zarr-only tests)."""
    from datetime import datetime
    sensing = sensing or datetime(2020, 8, 15, 10, 25, 59)
    names = _Names(level, baseline, tile, sensing, relative_orbit, spacecraft)
    return SafeProduct(
        path=Path(), name=names.name, level=level, baseline=baseline, offset=-1000 if float(baseline) >= 4 else 0,
        quantification=10000, epsg=epsg, ulx=float(ulx), uly=float(uly), size_10m=size_10m, band_files={},
        mtd_path="", tile=tile, sensing=sensing, relative_orbit=relative_orbit, cloud_cover=cloud_cover,
        nodata_corner=nodata_corner, values=ValueField(float(ulx), float(uly), size_10m * 10.0, seed))


def make_eopf_product(folder, safe: SafeProduct, zarr_format: int = 2, consolidated: bool = True,
                      spacecraft: str = "S2B") -> EopfProduct:
    """Writes ``<safe.name>.zarr`` under folder: the EOPF form of the SAFE's scene (same pixels)."""
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, not {zarr_format}")
    root = Path(folder) / f"{safe.name}.zarr"
    if root.exists():
        shutil.rmtree(root)
    product = EopfProduct(path=root, safe=safe, zarr_format=zarr_format)
    nodes: Dict[str, dict] = {}  # path -> (v3 node json) or {'.zgroup'/'.zarray': ..., '.zattrs': ...}
    writer = _Writer(root, zarr_format, nodes)
    writer.group("", _root_attributes(safe, spacecraft))
    wkt = _wkt(safe.epsg)
    for group in ("measurements", "measurements/reflectance", "conditions", "conditions/geometry", "conditions/mask",
                  "quality", "quality/mask"):
        writer.group(group, {})
    for resolution, bands in REFLECTANCE[safe.level].items():
        group = f"measurements/reflectance/r{resolution}m"
        writer.resolution_group(group, safe, resolution)
        for band in bands:
            values = safe._values_at(band, resolution, slice(None))
            attrs = dict(_grid_attrs(safe, resolution, wkt), scale_factor=1.0 / safe.quantification,
                         add_offset=safe.offset / safe.quantification, units="digital_counts",
                         long_name=f"{'TOA' if safe.level == 'L1C' else 'BOA'} reflectance from MSI acquisition at "
                                   f"spectral band {band.lower()}", valid_min=1, valid_max=65535)
            name = f"{group}/{band.lower()}"
            product.chunks[name] = writer.array(name, values, _chunk(safe, resolution), attrs)
            product.arrays[name] = (band, resolution)
    if safe.level == "L2A":
        for resolution in (20, 60):
            for group_name, bands in ((f"conditions/mask/l2a_classification/r{resolution}m", ("SCL",)),
                                      (f"quality/atmosphere/r{resolution}m", ("AOT", "WVP"))):
                _extra_group(writer, product, safe, group_name, bands, resolution, wkt)
        _extra_group(writer, product, safe, "quality/atmosphere/r10m", ("AOT", "WVP"), 10, wkt)
        _extra_group(writer, product, safe, "quality/probability/r20m", ("CLD", "SNW"), 20, wkt)
    writer.finish(consolidated)
    return product


def _extra_group(writer, product, safe, group, bands, resolution, wkt) -> None:
    for parent in _parents(group):
        if parent not in writer.nodes:
            writer.group(parent, {})
    writer.resolution_group(group, safe, resolution)
    for band in bands:
        values = safe._native(band, resolution, slice(None))
        name = f"{group}/{band.lower()}"
        attrs = _grid_attrs(safe, resolution, wkt)
        if band in ("AOT", "WVP"):
            attrs.update(scale_factor=0.001, add_offset=0.0)
        product.chunks[name] = writer.array(name, values, _chunk(safe, resolution), attrs)
        product.arrays[name] = (band, resolution)


def _parents(path: str):
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _chunk(safe: SafeProduct, resolution: int) -> Tuple[int, int]:
    side = safe.size_10m * 10 // resolution
    size = math.ceil(side / CHUNK_FRACTION[safe.level][resolution])
    return size, size


def _wkt(epsg: int) -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt(["FORMAT=WKT2_2018"])


def _grid_attrs(safe: SafeProduct, resolution: int, wkt: str) -> dict:
    rows, cols = safe.shape(resolution)
    return {"proj:epsg": safe.epsg, "proj:wkt2": wkt, "proj:shape": [rows, cols],
            "proj:transform": [float(resolution), 0.0, safe.ulx, 0.0, -float(resolution), safe.uly, 0.0, 0.0, 1.0],
            "proj:bbox": [safe.ulx, safe.uly - rows * resolution, safe.ulx + cols * resolution, safe.uly]}


def _root_attributes(safe: SafeProduct, spacecraft: str) -> dict:
    corners = [float(v) for v in _footprint(safe).split()]
    ring = [[corners[i + 1], corners[i]] for i in range(0, len(corners), 2)]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    start = safe.sensing.strftime("%Y-%m-%dT%H:%M:%S.024000Z")
    properties = {
        "datetime": start, "start_datetime": start, "end_datetime": start,
        "product:type": f"S02MSI{safe.level}", "platform": f"sentinel-{spacecraft[1:].lower()}",
        "constellation": "sentinel-2", "instruments": ["msi"], "eo:cloud_cover": safe.cloud_cover,
        "sat:relative_orbit": safe.relative_orbit, "sat:orbit_state": "descending",
        "processing:version": safe.baseline, "grid:code": f"MGRS-{safe.tile}", "proj:code": f"EPSG:{safe.epsg}",
        "mgrs:utm_zone": int(safe.tile[:2]), "mgrs:latitude_band": safe.tile[2], "mgrs:grid_square": safe.tile[3:],
    }
    item = {"type": "Feature", "stac_version": "1.1.0", "id": safe.name,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "bbox": [min(lons), min(lats), max(lons), max(lats)], "properties": properties, "links": [], "assets": {},
            "stac_extensions": ["https://stac-extensions.github.io/eo/v2.0.0/schema.json",
                                "https://stac-extensions.github.io/projection/v2.0.0/schema.json"]}
    return {"stac_discovery": item,
            "other_metadata": {"horizontal_CRS_code": f"EPSG:{safe.epsg}", "product_quality_status": "PASSED",
                               "NUC_table_ID": 1, "L0_ancillary_data_quality": "4"}}


class _Writer:
    """Groups and arrays in Zarr v2 or v3 layout; chunks encoded through GDAL's Zarr v2 writer."""

    def __init__(self, root: Path, zarr_format: int, nodes: Dict[str, dict]):
        self.root, self.zarr_format, self.nodes = root, zarr_format, nodes
        self.scratch = Path(tempfile.mkdtemp(prefix=".eopf-", dir=root.parent if root.parent.exists() else None))

    def group(self, path: str, attrs: dict) -> None:
        folder = self.root / path
        folder.mkdir(parents=True, exist_ok=True)
        if self.zarr_format == 3:
            self.nodes[path] = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
        else:
            self.nodes[path] = {".zgroup": {"zarr_format": 2}, ".zattrs": attrs}

    def resolution_group(self, path: str, safe: SafeProduct, resolution: int) -> None:
        self.group(path, {})
        rows, cols = safe.shape(resolution)
        x = safe.ulx + (np.arange(cols) + 0.5) * resolution
        y = safe.uly - (np.arange(rows) + 0.5) * resolution
        for name, values in (("x", x), ("y", y)):
            attrs = {"units": "m", "standard_name": f"projection_{name}_coordinate", "long_name": f"{name} coordinate"}
            self.coordinate(f"{path}/{name}", values, attrs, name)

    def coordinate(self, path: str, values: np.ndarray, attrs: dict, dimension: str) -> None:
        folder = self.root / path
        folder.mkdir(parents=True, exist_ok=True)
        raw = values.astype("<f8").tobytes()
        if self.zarr_format == 3:
            (folder / "c").mkdir(exist_ok=True)
            (folder / "c" / "0").write_bytes(raw)
            self.nodes[path] = self._v3_array(values.shape, values.shape, "float64", "NaN", None, attrs, [dimension])
        else:
            (folder / "0").write_bytes(raw)
            self.nodes[path] = {".zarray": self._v2_array(values.shape, values.shape, "<f8", "NaN", None),
                                ".zattrs": dict(attrs, _ARRAY_DIMENSIONS=[dimension])}

    def array(self, path: str, values: np.ndarray, chunks: Tuple[int, int], attrs: dict) -> Tuple[int, int]:
        folder = self.root / path
        folder.mkdir(parents=True, exist_ok=True)
        dtype = np.dtype(values.dtype)
        if self.zarr_format == 3:
            compressor = {"name": "zstd", "configuration": {"level": 3, "checksum": False}}
            self._encode(values, chunks, ["COMPRESS=ZSTD", "ZSTD_LEVEL=3"], folder, lambda r, c: f"c/{r}/{c}")
            self.nodes[path] = self._v3_array(values.shape, chunks, dtype.name, 0, compressor, attrs, ["y", "x"])
        else:
            compressor = {"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 0}
            self._encode(values, chunks, ["COMPRESS=BLOSC", "BLOSC_CNAME=zstd", "BLOSC_CLEVEL=5"], folder,
                         lambda r, c: f"{r}.{c}")
            self.nodes[path] = {".zarray": self._v2_array(values.shape, chunks, dtype.str, 0, compressor),
                                ".zattrs": dict(attrs, _ARRAY_DIMENSIONS=["y", "x"])}
        return chunks

    def _encode(self, values, chunks, options, folder: Path, key) -> None:
        """Chunk files as GDAL's v2 writer encodes them, moved to the array's folder under its keys."""
        scratch = self.scratch / f"a{len(self.nodes)}.zarr"
        data_type = gdal.GDT_Byte if values.dtype == np.uint8 else gdal.GDT_UInt16
        out = gdal.GetDriverByName("Zarr").Create(
            str(scratch), values.shape[1], values.shape[0], 1, data_type,
            ["FORMAT=ZARR_V2", f"BLOCKSIZE={chunks[0]},{chunks[1]}", "CREATE_ZMETADATA=NO"] + options)
        out.GetRasterBand(1).WriteArray(values)
        out = None
        written = scratch / scratch.stem
        for chunk in written.iterdir():
            if chunk.name.startswith("."):
                continue
            row, column = chunk.name.split(".")
            target = folder / key(row, column)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(chunk), str(target))
        shutil.rmtree(scratch)

    @staticmethod
    def _v2_array(shape, chunks, dtype: str, fill, compressor) -> dict:
        return {"zarr_format": 2, "shape": list(shape), "chunks": list(chunks), "dtype": dtype, "fill_value": fill,
                "order": "C", "filters": None, "compressor": compressor, "dimension_separator": "."}

    @staticmethod
    def _v3_array(shape, chunks, data_type: str, fill, compressor, attrs, dimensions) -> dict:
        codecs = [{"name": "bytes", "configuration": {"endian": "little"}}] + ([compressor] if compressor else [])
        return {"zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": data_type,
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
                "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                "fill_value": fill, "codecs": codecs, "attributes": attrs, "dimension_names": list(dimensions),
                "storage_transformers": []}

    def finish(self, consolidated: bool) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.zarr_format == 3:
            for path, node in self.nodes.items():
                document = dict(node)
                if path == "" and consolidated:
                    document["consolidated_metadata"] = {
                        "kind": "inline", "must_understand": False,
                        "metadata": {p: n for p, n in self.nodes.items() if p}}
                _write_json(self.root / path / "zarr.json", document)
            return
        flat = {}
        for path, node in self.nodes.items():
            for key, value in node.items():
                _write_json(self.root / path / key, value)
                flat[f"{path}/{key}" if path else key] = value
        if consolidated:
            _write_json(self.root / ".zmetadata", {"zarr_consolidated_format": 1, "metadata": flat})


def _write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")


def make_eopf_pair(folder, zarr_format: int = 2, **safe_kwargs) -> Tuple[SafeProduct, EopfProduct]:
    """A SAFE (written by make_safe_product) and the EOPF Zarr product of the same scene."""
    from .safe_products import make_safe_product
    safe = make_safe_product(Path(folder) / "safe", **safe_kwargs)
    return safe, make_eopf_product(Path(folder) / "zarr", safe, zarr_format)


__all__ = ["EopfProduct", "describe_safe_product", "make_eopf_product", "make_eopf_pair", "REFLECTANCE"]
