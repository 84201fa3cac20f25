"""STAC API search through pystac-client (Earth Search, Planetary Computer, CDSE STAC, any server).

Items are mapped from plain dicts (``item_scene``), so the local archive reads static catalogs with
the same code and without pystac.

pystac-client's requests go through core.net.http (:class:`_CoreStacIO`): the plugin's timeouts, retry
deadline, proxy and credential scope apply to STAC searches as to every other request. An answer
that is not STAC (a landing page that is no catalog, a search page that is no FeatureCollection of
items) ends the search with a message naming the server.
"""
import datetime as dt
import json
import os
import urllib.parse
from typing import Dict, List, Optional

from osgeo import ogr

from ..net import http
from ..install.dependencies import require
from ..landsat.bands import asset_scales
from ..landsat.names import wrs_tile
from ..util.errors import LabelMigrationError, MissingDependency
from ..net.credentials import ScopedCredentials, scoped
from ..net.cdse_assets import https_alternate
from ..net.http import display_url
from ..util.progress import CancelCheck, ProgressCallback, Steps
from .base import check_product, scene_passes
from .scene import Scene, product_level, tile_from_name
from .timestamps import as_utc, interval_string, parse_datetime

EARTH_SEARCH = "https://earth-search.aws.element84.com/v1"
PLANETARY_COMPUTER = "https://planetarycomputer.microsoft.com/api/stac/v1"
CDSE_STAC = "https://stac.dataspace.copernicus.eu/v1/"
EOPF_STAC = "https://stac.core.eopf.eodc.eu"  # ESA's EOPF Sentinel Zarr Samples: items whose product asset is a .zarr
DEFAULT_URL = EARTH_SEARCH
# server -> product level -> collection
COLLECTIONS = {
    "earth-search": {"L2A": "sentinel-2-l2a", "L1C": "sentinel-2-l1c"},
    "planetarycomputer": {"L2A": "sentinel-2-l2a"},
    "dataspace.copernicus": {"L2A": "sentinel-2-l2a", "L1C": "sentinel-2-l1c"},
    "eopf.eodc": {"L2A": "sentinel-2-l2a", "L1C": "sentinel-2-l1c"},
}
QUICKLOOK_ASSETS = ("thumbnail", "rendered_preview", "preview", "QUICKLOOK", "quicklook")
PRODUCT_ASSETS = ("product", "safe", "PRODUCT", "Product")
MAX_ITEMS = 5000


def default_collection(url: str, product: Optional[str]) -> Optional[str]:
    level = check_product(product) or "L2A"
    for host_part, collections in COLLECTIONS.items():
        if host_part in url:
            return collections.get(level)
    return None


# -- item mapping ----------------------------------------------------------------------------------

def item_tile(properties: dict, item_id: str) -> str:
    """MGRS tile from s2:mgrs_tile, grid:code (MGRS-32UPU), mgrs:* or the product name; a Landsat
    scene's WRS-2 path/row (core.landsat.names)."""
    landsat = wrs_tile(properties, item_id)
    if landsat:
        return landsat
    if properties.get("s2:mgrs_tile"):
        return str(properties["s2:mgrs_tile"])
    code = str(properties.get("grid:code") or "")
    if code.upper().startswith("MGRS-"):
        return code[5:]
    if properties.get("mgrs:utm_zone") and properties.get("mgrs:latitude_band") and properties.get("mgrs:grid_square"):
        zone = int(properties["mgrs:utm_zone"])
        return f"{zone:02d}{properties['mgrs:latitude_band']}{properties['mgrs:grid_square']}"
    if properties.get("tileId"):
        return str(properties["tileId"])
    return tile_from_name(str(properties.get("s2:product_uri") or item_id))


def item_product_type(properties: dict, item_id: str, collection: Optional[str]) -> str:
    for key in ("s2:product_type", "product:type", "productType", "landsat:correction"):
        if properties.get(key):
            return str(properties[key])
    for text in (properties.get("s2:product_uri"), item_id, collection):
        level = product_level(str(text or ""))
        if level:
            return {"L1C": "S2MSI1C", "L2A": "S2MSI2A"}[level]
    return ""


def item_scene(item: dict, backend: str, base_href: Optional[str] = None) -> Scene:
    """A Scene from a STAC item (a GeoJSON Feature dict); relative hrefs resolve against base_href."""
    properties = item.get("properties") or {}
    item_id = str(item.get("id", ""))
    # an s3:// href with an HTTPS alternate (CDSE v1): the alternate, which GDAL can read
    assets = {name: _absolute(https_alternate(asset) or asset.get("href", ""), base_href)
              for name, asset in (item.get("assets") or {}).items() if asset.get("href")}
    cloud = properties.get("eo:cloud_cover")
    moment = properties.get("datetime") or properties.get("start_datetime")
    if not moment:
        raise LabelMigrationError(f"The STAC item '{item_id}' has no datetime.")
    return Scene(
        id=item_id, title=str(properties.get("s2:product_uri") or item_id).removesuffix(".SAFE"), backend=backend,
        datetime=parse_datetime(moment), cloud_cover=float(cloud) if cloud is not None else None,
        tile=item_tile(properties, item_id),
        product_type=item_product_type(properties, item_id, item.get("collection")),
        footprint_wkt=_geometry_wkt(item.get("geometry")),
        url=next((assets[name] for name in PRODUCT_ASSETS if name in assets), None), assets=assets,
        checksums=_checksums(item.get("assets") or {}), size=None,
        quicklook=next((assets[name] for name in QUICKLOOK_ASSETS if name in assets), None),
        online=True, collection=item.get("collection"), band_scales=asset_scales(item.get("assets") or {}),
    )


def _checksums(assets: dict) -> Dict[str, str]:
    for name in PRODUCT_ASSETS:
        checksum = (assets.get(name) or {}).get("file:checksum")
        if checksum:
            return {"multihash": checksum}
    return {}


def _absolute(href: str, base: Optional[str]) -> str:
    if not base or "://" in href or os.path.isabs(href):
        return href
    if "://" in base:
        return urllib.parse.urljoin(base, href)
    return os.path.normpath(os.path.join(os.path.dirname(base), href))


def _geometry_wkt(geometry: Optional[dict]) -> Optional[str]:
    if not geometry:
        return None
    shape = ogr.CreateGeometryFromJson(json.dumps(geometry))
    return shape.ExportToIsoWkt() if shape is not None else None


# -- the API backend -------------------------------------------------------------------------------

def cloud_arguments(conformance: List[str], max_cloud: float) -> dict:
    """search() keyword arguments for a cloud limit: CQL2 filter or the query extension, as advertised."""
    if any(uri.endswith("item-search#filter") for uri in conformance) or any(
            "cql2" in uri and "json" in uri for uri in conformance):
        return {"filter": {"op": "<=", "args": [{"property": "eo:cloud_cover"}, max_cloud]}, "filter_lang": "cql2-json"}
    if any(uri.endswith("item-search#query") for uri in conformance):
        return {"query": {"eo:cloud_cover": {"lte": max_cloud}}}
    return {}  # the server filters nothing: filter_passes() below does it


class StacBackend:
    """headers: sent with every request; an Authorization among them is sent only to the STAC
    API's own host (credentials: a ScopedCredentials instead, with a scope of the caller's)."""

    name = "stac"

    def __init__(self, url: Optional[str] = None, headers: Optional[Dict[str, str]] = None, sign: Optional[bool] = None,
                 page_size: int = 100, timeout: Optional[float] = http.DEFAULT_TIMEOUT,
                 credentials: Optional[ScopedCredentials] = None, retries: int = 3, backoff: float = 1.0):
        self.url = url or DEFAULT_URL
        headers = dict(headers or {})
        secret = {key: headers.pop(key) for key in list(headers) if key.lower() == "authorization"}
        self.headers = headers
        self.credentials = credentials or (scoped(lambda: secret, self.url) if secret else None)
        self.sign = "planetarycomputer" in self.url if sign is None else sign
        self.page_size, self.timeout, self.retries, self.backoff = page_size, timeout, retries, backoff

    def search(self, geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float] = None,
               product: Optional[str] = None, collection: Optional[str] = None,
               progress: Optional[ProgressCallback] = None, is_cancelled: Optional[CancelCheck] = None) -> List[Scene]:
        steps = Steps(progress, is_cancelled)
        client = self._open(is_cancelled)
        arguments = {
            "intersects": json.loads(ogr.CreateGeometryFromWkt(geometry_wkt).ExportToJson()),
            "datetime": interval_string(as_utc(start), as_utc(end)), "limit": self.page_size,
            "max_items": MAX_ITEMS,
        }
        collection = collection or default_collection(self.url, product)
        if collection:
            arguments["collections"] = [collection]
        if max_cloud is not None:
            arguments.update(cloud_arguments(list(client.get_conforms_to()), max_cloud))
        scenes = []
        for number, item in enumerate(self._items(client, arguments, steps), start=1):
            scenes.append(self._scene(item, number))
        return [scene for scene in scenes if scene_passes(scene, start, end, max_cloud, product)]

    def _scene(self, item, number: int) -> Scene:
        """The scene of the number-th item of the answer, or a message naming the server and the item."""
        problem = _item_problem(item)
        if problem is None:
            try:
                return item_scene(self._signed(item), self.name, None)
            except MissingDependency:
                raise
            except LabelMigrationError as error:
                problem = str(error).rstrip(".")
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                problem = f"{type(error).__name__}: {error}"
        raise LabelMigrationError(
            f"The STAC API at {display_url(self.url)} answered something that is not a valid STAC search result: "
            f"item {number} {problem}.")

    def _open(self, is_cancelled):
        pystac_client = require("pystac_client", "Searching a STAC API")
        try:
            return pystac_client.Client.open(self.url, stac_io=_core_stac_io(self, is_cancelled))
        except LabelMigrationError:
            raise
        except Exception as error:  # pystac's own errors: name the URL and what was wrong
            raise LabelMigrationError(_stac_message(self.url, error, "a STAC API landing page (a catalog with "
                                                                     "links)")) from None

    def _items(self, client, arguments: dict, steps: Steps):
        try:
            search = client.search(**arguments)
            for number, page in enumerate(search.pages_as_dicts()):
                steps.report(1.0 - 0.5 ** (number + 1))
                features = page.get("features", []) if isinstance(page, dict) else None
                if not isinstance(features, list):
                    raise LabelMigrationError(
                        f"The STAC API at {display_url(self.url)} answered something that is not a valid STAC "
                        f"search result: page {number + 1} holds no list of features.")
                yield from features
        except LabelMigrationError:
            raise
        except Exception as error:
            raise LabelMigrationError(_stac_message(self.url, error, "a valid STAC search result")) from None

    def _signed(self, item: dict) -> dict:
        if not self.sign:
            return item
        try:
            planetary_computer = require("planetary_computer", "Reading Planetary Computer assets (signing their URLs)")
        except MissingDependency as error:
            raise LabelMigrationError(
                f"{error} Without it the Planetary Computer asset URLs cannot be opened.") from None
        return planetary_computer.sign(item)


def _item_problem(item) -> Optional[str]:
    if not isinstance(item, dict):
        return "is not a JSON object"
    if not item.get("id") or not isinstance(item["id"], (str, int)):
        return "has no id"
    if not isinstance(item.get("properties"), dict):
        return f"'{item['id']}' has no properties"
    if not isinstance(item.get("assets", {}), dict):
        return f"'{item['id']}' has assets that are not an object"
    return None


def _stac_message(url: str, error: Exception, expected: str) -> str:
    """A message for a person about an answer that is not what STAC promises; never the server's
    body or the request headers (they may hold tokens)."""
    shown = display_url(url)
    if (isinstance(error, ValueError) and "JSON" in str(error)) or "Expecting value" in str(error):
        return (f"{shown} answered with something that is not STAC JSON (an HTML page?); "
                f"is this the right address for the STAC API?")
    detail = str(error).split("\n")[0][:200]
    detail = detail.replace(url, shown) if url else detail
    return (f"The STAC API at {shown} answered something that is not {expected} "
            f"({type(error).__name__}{': ' + detail if detail else ''}); check the URL.")


def _core_stac_io(backend: StacBackend, is_cancelled):
    """A pystac-client StacApiIO whose requests go through core.net.http."""
    stac_api_io = require("pystac_client.stac_api_io", "Searching a STAC API")

    class CoreStacIO(stac_api_io.StacApiIO):
        def request(self, href: str, method: Optional[str] = None, headers: Optional[Dict[str, str]] = None,
                    parameters: Optional[dict] = None) -> str:
            method = (method or "GET").upper()
            body = None
            if method in ("POST", "PUT", "PATCH"):
                body = parameters or {}
            elif parameters:
                query = urllib.parse.urlencode({k: v for k, v in parameters.items() if v is not None}, doseq=True)
                href = href + ("&" if urllib.parse.urlsplit(href).query else "?") + query
            answer, content_type, href = http.get_bytes(
                href, headers={**backend.headers, **(headers or {})}, timeout=backend.timeout,
                retries=backend.retries, is_cancelled=is_cancelled, backoff=backend.backoff,
                credentials=backend.credentials, method=method, body=body)
            http.decode_json(answer, content_type, href)  # an HTML page is named as such, not a parse error
            return answer.decode("utf-8", errors="replace")

    return CoreStacIO(max_retries=None)
