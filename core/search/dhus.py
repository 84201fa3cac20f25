"""DHuS OpenSearch (hubs still running the Data Hub Software: national mirrors, collaborative hubs).

Why not sentinelsat: its query() is one GET of ``/search?q=...&format=json`` plus paging, which
core/http does with the plugin's own error messages (URL named, HTML pages and 401s explained,
password never shown, Retry-After honoured); sentinelsat would add requests, tqdm, geojson,
geomet and html2text to the Python that QGIS runs for that, and its errors quote server bodies.
"""
import base64
import datetime as dt
from typing import Dict, List, Optional, Tuple

from osgeo import ogr

from .. import http
from ..errors import LabelMigrationError
from ..progress import CancelCheck, ProgressCallback, Steps
from .base import Scene, check_product, iso_z, parse_datetime, scene_passes, tile_from_name

DEFAULT_URL = "https://apihub.copernicus.eu/apihub"  # closed in 2023: give a hub that still runs DHuS
PRODUCT_TYPES = {"L1C": "S2MSI1C", "L2A": "S2MSI2A"}
ROWS = 100
MAX_RESULTS = 10000


def build_query(geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float],
                product: Optional[str], platform: Optional[str] = None) -> str:
    geometry = ogr.CreateGeometryFromWkt(geometry_wkt)
    if geometry is None:
        raise LabelMigrationError("The DHuS search area is not valid WKT.")
    terms = [f"beginPosition:[{iso_z(start)} TO {iso_z(end)}]", f"platformname:{platform or 'Sentinel-2'}",
             f'footprint:"Intersects({geometry.ExportToWkt()})"']
    if max_cloud is not None:
        terms.append(f"cloudcoverpercentage:[0 TO {max_cloud:g}]")
    level = check_product(product)
    if level:
        terms.append(f"producttype:{PRODUCT_TYPES[level]}")
    return " AND ".join(terms)


def basic_auth(credentials: Optional[Tuple[str, str]]) -> Dict[str, str]:
    if not credentials:
        return {}
    token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class DhusBackend:
    name = "dhus"

    def __init__(self, url: Optional[str] = None, credentials: Optional[Tuple[str, str]] = None,
                 timeout: float = http.DEFAULT_TIMEOUT, retries: int = 3, backoff: float = 1.0):
        self.url = (url or DEFAULT_URL).rstrip("/")
        self.headers = basic_auth(credentials)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def search(self, geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float] = None,
               product: Optional[str] = None, collection: Optional[str] = None,
               progress: Optional[ProgressCallback] = None, is_cancelled: Optional[CancelCheck] = None) -> List[Scene]:
        steps = Steps(progress, is_cancelled)
        query = build_query(geometry_wkt, start, end, max_cloud, product, collection)
        scenes: List[Scene] = []
        offset = 0
        while offset < MAX_RESULTS:
            steps.check()
            feed = self._page(query, offset, is_cancelled)
            entries = _as_list(feed.get("entry"))
            scenes.extend(self.scene(entry) for entry in entries)
            total = int(feed.get("opensearch:totalResults") or 0)
            offset += len(entries)
            steps.report(offset / total if total else 1.0)
            if not entries or offset >= total:
                break
        return [scene for scene in scenes if scene_passes(scene, start, end, max_cloud, product)]

    def _page(self, query: str, offset: int, is_cancelled: Optional[CancelCheck]) -> dict:
        params = {"q": query, "start": str(offset), "rows": str(ROWS), "format": "json", "orderby": "beginposition asc"}
        answer = http.get_json(f"{self.url}/search", params, self.headers, self.timeout, self.retries, is_cancelled,
                               self.backoff)
        feed = answer.get("feed") if isinstance(answer, dict) else None
        if not isinstance(feed, dict):
            raise LabelMigrationError(f"{self.url}/search did not answer like a DHuS OpenSearch service.")
        return feed

    def scene(self, entry: dict) -> Scene:
        fields = _fields(entry)
        links = _as_list(entry.get("link"))
        cloud = fields.get("cloudcoverpercentage")
        title = str(entry.get("title", ""))
        size = fields.get("size")
        return Scene(
            id=str(entry["id"]), title=title, backend=self.name,
            datetime=parse_datetime(fields.get("beginposition") or fields["datatakesensingstart"]),
            cloud_cover=float(cloud) if cloud not in (None, "") else None,
            tile=fields.get("tileid") or tile_from_name(title), product_type=fields.get("producttype", ""),
            footprint_wkt=_footprint(fields.get("footprint")),
            url=next((link["href"] for link in links if not link.get("rel") and link.get("href")), None),
            checksums={}, size=_size_bytes(size) if size else None,
            quicklook=next((link["href"] for link in links if link.get("rel") == "icon"), None),
            online=str(entry.get("offline", "false")).lower() != "true", collection="SENTINEL-2",
        )


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _fields(entry: dict) -> Dict[str, str]:
    """DHuS puts values under their type ('str', 'int', 'double', 'date', ...), a dict when only one."""
    fields = {}
    for kind in ("str", "int", "double", "date", "bool"):
        for item in _as_list(entry.get(kind)):
            fields[item.get("name")] = item.get("content")
    return fields


def _footprint(wkt: Optional[str]) -> Optional[str]:
    geometry = ogr.CreateGeometryFromWkt(wkt) if wkt else None
    return geometry.ExportToIsoWkt() if geometry is not None else None


def _size_bytes(text: str) -> Optional[int]:
    units = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}
    parts = text.split()
    if len(parts) != 2 or parts[1].upper() not in units:
        return None
    return int(float(parts[0]) * units[parts[1].upper()])
