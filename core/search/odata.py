"""Copernicus Data Space Ecosystem (CDSE) OData catalogue, with the standard library only.

The catalogue's answers are checked: a page that is not an OData product list, or a product
without an Id, a name or an acquisition time, ends the search with a message naming the server and
the entry (rather than skipping it: a search that silently drops scenes would rank the rest as if
they were all there was).
"""
import datetime as dt
import json
import re
import urllib.parse
from typing import Dict, List, Optional

from osgeo import ogr

from ..net import http
from ..net.checksums import odata_checksums
from ..util.errors import LabelMigrationError
from ..util.progress import CancelCheck, ProgressCallback, Steps
from .base import check_product, scene_passes
from .scene import Scene, tile_from_name
from .timestamps import iso_z, parse_datetime

DEFAULT_URL = "https://catalogue.dataspace.copernicus.eu/odata/v1"
DEFAULT_DOWNLOAD_URL = "https://download.dataspace.copernicus.eu/odata/v1"
DEFAULT_COLLECTION = "SENTINEL-2"
PRODUCT_TYPES = {"L1C": "S2MSI1C", "L2A": "S2MSI2A"}
MAX_TOP = 1000
MAX_PAGES = 200
# The catalogue refuses $skip above 10,000 (issue 18; CDSE's OData documentation). A longer result is read in
# windows: the next one starts at the last acquisition time read (the answer is sorted by it), products seen twice
# at the boundary are dropped.
MAX_SKIP = 10_000
_FOOTPRINT_TEXT = re.compile(r"^geography'SRID=4326;(.*)'$", re.IGNORECASE | re.DOTALL)


def odata_polygon(geometry_wkt: str) -> str:
    """POLYGON((x y,...)) as the CDSE filter writes it (lon lat, 6 decimals, outer ring only)."""
    geometry = ogr.CreateGeometryFromWkt(geometry_wkt)
    if geometry is None or ogr.GT_Flatten(geometry.GetGeometryType()) != ogr.wkbPolygon:
        raise LabelMigrationError("The CDSE OData search needs one polygon as the search area.")
    ring = geometry.GetGeometryRef(0)
    points = ",".join(f"{ring.GetX(i):.6f} {ring.GetY(i):.6f}" for i in range(ring.GetPointCount()))
    return f"POLYGON(({points}))"


def build_filter(geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float],
                 product: Optional[str], collection: Optional[str] = None) -> str:
    """The $filter of DESIGN.md section 4."""
    clauses = [
        f"Collection/Name eq '{collection or DEFAULT_COLLECTION}'",
        f"OData.CSC.Intersects(area=geography'SRID=4326;{odata_polygon(geometry_wkt)}')",
        f"ContentDate/Start gt {iso_z(start)}",
        f"ContentDate/Start lt {iso_z(end)}",
    ]
    if max_cloud is not None:
        clauses.append("Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
                       f"att/OData.CSC.DoubleAttribute/Value le {max_cloud:.2f})")
    level = check_product(product)
    if level:
        clauses.append("Attributes/OData.CSC.StringAttribute/any(att:att/Name eq 'productType' and "
                       f"att/OData.CSC.StringAttribute/Value eq '{PRODUCT_TYPES[level]}')")
    return " and ".join(clauses)


def _skip_of(url: str) -> int:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("$skip", ["0"])
    try:
        return int(values[0])
    except ValueError:
        return 0


def _content_start(entry) -> Optional[str]:
    """The entry's ContentDate/Start as the catalogue wrote it (an OData date-time literal), or None."""
    content = entry.get("ContentDate") if isinstance(entry, dict) else None
    start = content.get("Start") if isinstance(content, dict) else None
    return start if isinstance(start, str) and re.fullmatch(r"[0-9T:.\-]+Z?", start) else None


class ODataBackend:
    name = "cdse-odata"

    def __init__(self, url: Optional[str] = None, download_url: str = DEFAULT_DOWNLOAD_URL, page_size: int = 100,
                 timeout: Optional[float] = http.DEFAULT_TIMEOUT, retries: int = 3, backoff: float = 1.0):
        self.url = (url or DEFAULT_URL).rstrip("/")
        self.download_url = download_url.rstrip("/")
        self.page_size = max(1, min(MAX_TOP, page_size))
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def search(self, geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float] = None,
               product: Optional[str] = None, collection: Optional[str] = None,
               progress: Optional[ProgressCallback] = None, is_cancelled: Optional[CancelCheck] = None) -> List[Scene]:
        params = {
            "$filter": build_filter(geometry_wkt, start, end, max_cloud, product, collection),
            "$top": str(self.page_size), "$expand": "Attributes", "$orderby": "ContentDate/Start asc",
        }
        scenes = []
        for page in self.pages(params, progress, is_cancelled):
            first = len(scenes) + 1
            scenes.extend([self.checked_scene(entry, first + index) for index, entry in enumerate(page["value"])])
        return [scene for scene in scenes if scene_passes(scene, start, end, max_cloud, product)]

    def checked_scene(self, product, number: int) -> Scene:
        """scene(product), or a LabelMigrationError naming the server and the entry that is wrong."""
        name = f" '{product.get('Name')}'" if isinstance(product, dict) and product.get("Name") else ""
        try:
            problem = _entry_problem(product)
            if problem is None:
                return self.scene(product)
        except LabelMigrationError as error:
            problem = str(error).rstrip(".")
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            problem = f"'{error.args[0]}' is missing" if isinstance(error, KeyError) else f"{error}"
        raise LabelMigrationError(
            f"{http.display_url(self.url)} answered a product that is not a valid CDSE OData product (entry "
            f"{number}{name}: {problem}). The catalogue's answer is damaged; try again later, or tell the "
            f"catalogue's operator.")

    def pages(self, params: Dict[str, str], progress: Optional[ProgressCallback] = None,
              is_cancelled: Optional[CancelCheck] = None):
        """Every answer page, following @odata.nextLink until the server gives none; past MAX_SKIP products a
        new window starts at the last acquisition time read (params must sort by ContentDate/Start)."""
        steps = Steps(progress, is_cancelled)
        products = f"{self.url}/Products"
        url, query, seen, ids = products, params, set(), set()
        window_start = None
        for number in range(MAX_PAGES):
            steps.check()
            page = http.get_json(url, query, timeout=self.timeout, retries=self.retries, is_cancelled=is_cancelled,
                                 backoff=self.backoff)
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise LabelMigrationError(f"{http.display_url(url)} did not answer like a CDSE OData catalogue "
                                          f"(no list of products under 'value').")
            entries = page["value"]
            last_start = _content_start(entries[-1]) if entries else None
            page = {**page, "value": [e for e in entries if not (isinstance(e, dict) and e.get("Id") in ids)]}
            ids.update(e.get("Id") for e in entries if isinstance(e, dict))
            yield page
            steps.report(1.0 - 0.5 ** (number + 1))
            url, query = page.get("@odata.nextLink"), None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or url in seen:
                return
            seen.add(url)
            if _skip_of(url) > MAX_SKIP:
                if last_start is None or last_start == window_start:
                    raise LabelMigrationError(
                        f"The CDSE OData search gives more than {MAX_SKIP} products taken at {last_start}; "
                        f"narrow the search.")
                window_start = last_start
                url, query = products, {**params, "$filter": f"({params['$filter']}) and "
                                                             f"ContentDate/Start ge {last_start}"}
        raise LabelMigrationError(f"The CDSE OData search gave more than {MAX_PAGES} pages; narrow the search.")

    def scene(self, product: dict) -> Scene:
        attributes = {item.get("Name"): item.get("Value") for item in product.get("Attributes") or []
                      if isinstance(item, dict)}
        name = str(product.get("Name") or "")
        product_id = str(product["Id"])
        cloud = attributes.get("cloudCover")
        size = product.get("ContentLength")
        content_date = product.get("ContentDate") if isinstance(product.get("ContentDate"), dict) else {}
        moment = content_date.get("Start") or attributes.get("beginningDateTime")
        if not isinstance(moment, str):
            raise LabelMigrationError("it has no acquisition time (ContentDate/Start)")
        return Scene(
            id=product_id, title=name[:-5] if name.endswith(".SAFE") else name, backend=self.name,
            datetime=parse_datetime(moment),
            cloud_cover=float(cloud) if cloud is not None else None,
            tile=str(attributes.get("tileId") or tile_from_name(name)),
            product_type=str(attributes.get("productType") or ""),
            footprint_wkt=footprint_wkt(product),
            url=f"{self.download_url}/Products({urllib.parse.quote(product_id, safe='-')})/$value",
            checksums=odata_checksums(product),
            size=int(size) if size not in (None, "") else None, quicklook=_quicklook(product),
            online=bool(product.get("Online", True)),
            collection=DEFAULT_COLLECTION if name.startswith("S2") else None,
        )


def _entry_problem(product) -> Optional[str]:
    """What makes an answer's entry unusable as a product, in words; None when it looks usable."""
    if not isinstance(product, dict):
        return "it is not a JSON object"
    if product.get("Id") in (None, "") or isinstance(product.get("Id"), (dict, list)):
        return "it has no Id"
    if not isinstance(product.get("Name"), str) or not product["Name"]:
        return "it has no Name"
    return None


def footprint_wkt(product: dict) -> Optional[str]:
    geojson = product.get("GeoFootprint")
    if geojson:
        geometry = ogr.CreateGeometryFromJson(json.dumps(geojson))
        if geometry is not None:
            return geometry.ExportToIsoWkt()
    match = _FOOTPRINT_TEXT.match(product.get("Footprint") or "")
    if match:
        geometry = ogr.CreateGeometryFromWkt(match.group(1))
        if geometry is not None:
            return geometry.ExportToIsoWkt()
    return None


def _quicklook(product: dict) -> Optional[str]:
    for asset in product.get("Assets") or []:
        if str(asset.get("Type", "")).upper() == "QUICKLOOK" and asset.get("DownloadLink"):
            return asset["DownloadLink"]
    return None
