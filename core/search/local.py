"""A local archive: a folder of SAFE products (folders or zips), EOPF Zarr products (.zarr folders)
and/or static STAC catalogs on disk.

Everything is indexed from the products' own metadata, so searches work offline. The index is
built once per backend and reused for every label footprint.
"""
import datetime as dt
import json
import os
import zipfile
from typing import Iterator, List, Optional, Set

from osgeo import ogr, osr

from ..util import limits
from ..util.errors import Cancelled, LabelMigrationError
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..sentinel2.eopf import EopfProduct, open_eopf
from ..sentinel2.safe import is_safe_product, open_safe
from ..sentinel2.safe_metadata import parse_xml, xml_text
from ..sentinel2.safe_product import SafeProduct
from .base import scene_passes
from .scene import Scene
from .timestamps import parse_datetime
from .stac import item_scene

STAC_ROOTS = ("catalog.json", "collection.json")
MAX_LINK_DEPTH = 8
# what reading one product's metadata can raise when the product is damaged or hostile: it is left out
# of the index with the reason, and the scan goes on
_UNREADABLE_PRODUCT = (LabelMigrationError, ValueError, KeyError, IndexError, OSError, RuntimeError, EOFError,
                       zipfile.BadZipFile)


class LocalArchiveBackend:
    name = "local"

    def __init__(self, url: str):
        if not url:
            raise LabelMigrationError("The local archive needs a folder: give its path as the URL.")
        self.url = url[7:] if url.startswith("file://") else url
        self.skipped: List[str] = []  # '<path>: <why>' for each product or STAC file left out of the index
        self._index: Optional[List[Scene]] = None

    def left_out(self) -> List[str]:
        """A warning for each product or STAC file the index left out (after a search)."""
        return [f"The local archive has a product that cannot be read, left out: {entry}" for entry in self.skipped]

    def search(self, geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float] = None,
               product: Optional[str] = None, collection: Optional[str] = None,
               progress: Optional[ProgressCallback] = None, is_cancelled: Optional[CancelCheck] = None) -> List[Scene]:
        area = ogr.CreateGeometryFromWkt(geometry_wkt)
        found = []
        for scene in self.index(progress, is_cancelled):
            if collection and scene.collection and scene.collection != collection:
                continue
            if not scene_passes(scene, start, end, max_cloud, product):
                continue
            shape = ogr.CreateGeometryFromWkt(scene.footprint_wkt) if scene.footprint_wkt else None
            if shape is None or shape.Intersects(area):
                found.append(scene)
        return found

    def index(self, progress: Optional[ProgressCallback] = None,
              is_cancelled: Optional[CancelCheck] = None) -> List[Scene]:
        if self._index is None:
            if not os.path.isdir(self.url):
                raise LabelMigrationError(f"The local archive folder '{self.url}' does not exist or is not a folder.")
            steps = Steps(progress, is_cancelled)
            scenes, seen = [], set()
            for scene in self._scan(steps):
                if scene.id not in seen:
                    seen.add(scene.id)
                    scenes.append(scene)
            self._index = scenes
        return self._index

    def _scan(self, steps: Steps) -> Iterator[Scene]:
        for folder, subfolders, files in os.walk(self.url):
            steps.check()
            products = [name for name in subfolders if name.upper().endswith(".SAFE")]
            zarrs = [name for name in subfolders if name.lower().endswith(".zarr")]
            subfolders[:] = sorted(name for name in subfolders if name not in products and name not in zarrs)
            for name in sorted(products):
                yield from self._safe(os.path.join(folder, name))
            for name in sorted(zarrs):
                yield from self._safe(os.path.join(folder, name), eopf=True)
            for name in sorted(files):
                path = os.path.join(folder, name)
                if name.lower().endswith(".zip"):
                    yield from self._safe(path)
                elif name.lower().endswith(".json"):
                    yield from self._stac_file(path, name)

    def _safe(self, path: str, eopf: bool = False) -> Iterator[Scene]:
        try:
            if eopf:
                scene = eopf_scene(open_eopf(path, with_band_paths=False), self.name)
            elif not is_safe_product(path):
                return
            else:
                scene = safe_scene(open_safe(path), self.name)
        except Cancelled:
            raise
        except _UNREADABLE_PRODUCT as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            self.skipped.append(f"{path}: {reason}")
            return
        yield scene

    def _stac_file(self, path: str, name: str) -> Iterator[Scene]:
        document = _read_json(path, self.skipped)
        if not isinstance(document, dict):
            return
        if document.get("type") == "Feature" and "stac_version" in document:
            yield from self._item(document, path)
        elif document.get("type") == "FeatureCollection":
            features = document.get("features")
            for item in features if isinstance(features, list) else []:
                yield from self._item(item, path)
        elif name in STAC_ROOTS:
            yield from self._catalog(document, path, 0, set())

    def _catalog(self, document: dict, path: str, depth: int, visited: Set[str]) -> Iterator[Scene]:
        """Items and children a static catalog links to outside the archive folder (the folder walk
        reads what lies inside it); each file once, however often or circularly it is linked."""
        links = document.get("links")
        for link in links if isinstance(links, list) else []:
            rel, href = (link.get("rel"), link.get("href")) if isinstance(link, dict) else (None, None)
            if rel not in ("item", "child") or not isinstance(href, str) or not href or "://" in href:
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(path), href))
            if _inside(target, self.url) or target in visited:
                continue
            visited.add(target)
            linked = _read_json(target, self.skipped)
            if rel == "item" and isinstance(linked, dict):
                yield from self._item(linked, target)
            elif rel == "child" and isinstance(linked, dict) and depth < MAX_LINK_DEPTH:
                yield from self._catalog(linked, target, depth + 1, visited)

    def _item(self, item: dict, path: str) -> Iterator[Scene]:
        try:
            scene = item_scene(item, self.name, path)
        except (LabelMigrationError, KeyError, TypeError, ValueError, AttributeError) as error:
            self.skipped.append(f"{path}: not a usable STAC item ({error})")
            return
        yield scene


def _inside(path: str, folder: str) -> bool:
    return os.path.commonpath([os.path.abspath(path), os.path.abspath(folder)]) == os.path.abspath(folder)


def _read_json(path: str, skipped: List[str]):
    try:
        limits.check_metadata_size(os.path.getsize(path), "The file")
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError, RecursionError, LabelMigrationError) as error:
        skipped.append(f"{path}: cannot read it as JSON ({error})")
        return None


def safe_scene(product: SafeProduct, backend: str) -> Scene:
    root = parse_xml(product.metadata_path, product.source)
    cloud = xml_text(root, "Cloud_Coverage_Assessment")
    name = product.name[:-5] if product.name.upper().endswith(".SAFE") else product.name
    return Scene(
        id=name, title=name, backend=backend, datetime=parse_datetime(product.sensing_start),
        cloud_cover=float(cloud) if cloud else None, tile=product.tile, product_type=product.product_type,
        footprint_wkt=_mtd_footprint(xml_text(root, "EXT_POS_LIST")) or tile_footprint(product),
        url=os.path.abspath(product.source), assets={"product": os.path.abspath(product.source)},
        collection=f"sentinel-2-{product.level.lower()}",
    )


def eopf_scene(product: EopfProduct, backend: str) -> Scene:
    """An EOPF Zarr product's scene from its stac_discovery item (date, tile, cloud cover, footprint)."""
    name = product.name[:-5] if product.name.lower().endswith(".zarr") else product.name
    footprint = ogr.CreateGeometryFromJson(json.dumps(product.footprint)) if product.footprint else None
    return Scene(
        id=name, title=name, backend=backend, datetime=parse_datetime(product.sensing_start),
        cloud_cover=product.cloud_cover, tile=product.tile, product_type=product.product_type,
        footprint_wkt=footprint.ExportToIsoWkt() if footprint is not None and footprint.IsValid()
        else tile_footprint(product),
        url=os.path.abspath(product.source), assets={"product": os.path.abspath(product.source)},
        collection=f"sentinel-2-{product.level.lower()}",
    )


def _mtd_footprint(positions: Optional[str]) -> Optional[str]:
    """The product footprint from EXT_POS_LIST ('lat lon lat lon ...') as lon/lat WKT."""
    values = (positions or "").split()
    if len(values) < 8 or len(values) % 2:
        return None
    pairs = [(float(values[i + 1]), float(values[i])) for i in range(0, len(values), 2)]
    if pairs[0] != pairs[-1]:
        pairs.append(pairs[0])
    polygon = ogr.CreateGeometryFromWkt("POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in pairs) + "))")
    return polygon.ExportToIsoWkt() if polygon is not None and polygon.IsValid() else None


def tile_footprint(product: SafeProduct) -> str:
    """The tile's 10 m grid bounds transformed to EPSG:4326 (densified edges)."""
    grid = product.grid
    columns, rows = grid.size(10)
    right, bottom = grid.ulx + columns * 10.0, grid.uly - rows * 10.0
    polygon = ogr.CreateGeometryFromWkt(
        f"POLYGON(({grid.ulx} {grid.uly},{right} {grid.uly},{right} {bottom},"
        f"{grid.ulx} {bottom},{grid.ulx} {grid.uly}))")
    polygon.Segmentize(columns * 10.0 / 16)
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(grid.epsg)
    target.ImportFromEPSG(4326)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    polygon.Transform(osr.CoordinateTransformation(source, target))
    return polygon.ExportToIsoWkt()
