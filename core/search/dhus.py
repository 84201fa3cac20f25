"""DHuS hubs (those still running the Data Hub Software: national mirrors, collaborative hubs),
searched through sentinelsat, imported only when a DHuS search runs.

sentinelsat's errors quote server pages; they are turned into the plugin's own messages (the URL
named, HTML pages and 401s explained, never a password).

Every request of sentinelsat's session goes through :func:`core.net.requests_sessions.retry_requests`: the plugin's
retry policy (core.net.retry: 429/5xx, reset connections, Retry-After, the count and the retry
deadline, each retry logged) and the connect and read timeouts in force apply to DHuS as to the
other catalogues.
"""
import datetime as dt
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from osgeo import ogr

from ..net import http
from ..net.connections import current_proxy
from ..net.requests_sessions import retry_requests
from ..net.timeouts import timeouts
from ..util import limits
from ..install.dependencies import require
from ..util.errors import LabelMigrationError
from ..util.progress import CancelCheck, ProgressCallback, Steps
from .base import check_product, scene_passes
from .scene import Scene, tile_from_name
from .timestamps import iso_z, parse_datetime

DEFAULT_URL = "https://apihub.copernicus.eu/apihub"  # closed in 2023: a search there says so (closed_hub_message)
# The Copernicus Open Access Hub (scihub.copernicus.eu; its API hub on apihub.copernicus.eu from April 2021)
# ceased operations at the end of October 2023, with the other public Copernicus DHuS hubs.
CLOSED_HUB_HOSTS = ("scihub.copernicus.eu", "apihub.copernicus.eu")
PRODUCT_TYPES = {"L1C": "S2MSI1C", "L2A": "S2MSI2A"}
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


class DhusBackend:
    name = "dhus"

    def __init__(self, url: Optional[str] = None, credentials: Optional[Tuple[str, str]] = None,
                 timeout: Optional[float] = http.DEFAULT_TIMEOUT, retries: int = 3, backoff: float = 1.0):
        self.url = (url or DEFAULT_URL).rstrip("/")
        self.credentials = credentials
        self.headers = http.basic_auth(credentials)
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def search(self, geometry_wkt: str, start: dt.datetime, end: dt.datetime, max_cloud: Optional[float] = None,
               product: Optional[str] = None, collection: Optional[str] = None,
               progress: Optional[ProgressCallback] = None, is_cancelled: Optional[CancelCheck] = None) -> List[Scene]:
        steps = Steps(progress, is_cancelled)
        closed = closed_hub_message(self.url)
        if closed:  # nothing answers there any more: say why before sentinelsat meets a bare connection error
            raise LabelMigrationError(closed)
        sentinelsat = require("sentinelsat", "Searching a DHuS hub")
        user, password = self.credentials or (None, None)
        # requests takes (connect, read), and strips credentials on redirects to other hosts
        times = timeouts(self.timeout)
        api = sentinelsat.SentinelAPI(user, password, self.url + "/", timeout=(times.connect, times.read),
                                      show_progressbars=False)
        retry_requests(api.session, self.retries, self.backoff, self.timeout, is_cancelled)
        proxy = current_proxy()
        if proxy:
            api.session.proxies.update({"http": proxy, "https": proxy})
        steps.check()
        query = build_query(geometry_wkt, start, end, max_cloud, product, collection)
        try:
            products = api.query(raw=query, order_by="+beginposition", limit=MAX_RESULTS)
        except LabelMigrationError:  # the retries gave up (HttpError, with its message), or a cancel
            raise
        except Exception as error:  # sentinelsat and requests errors: say what happened, for a person
            raise self._error(error) from None
        steps.report(1.0)
        scenes = [self.scene(uuid, properties) for uuid, properties in products.items()]
        return [scene for scene in scenes if scene_passes(scene, start, end, max_cloud, product)]

    def _error(self, error: Exception) -> http.HttpError:
        shown = http.display_url(self.url + "/search")
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        body = (getattr(response, "text", "") or "")[:2048].lower()
        if status == 401 or type(error).__name__ == "UnauthorizedError":
            return http.HttpError(f"{shown} refused the credentials (HTTP 401 Unauthorized): check the user name "
                                  f"and password.", 401)
        if "<html" in body:
            return http.HttpError(f"{shown} answered with an HTML page instead of JSON; is this the address of a "
                                  f"DHuS hub?", status)
        if status:
            return http.HttpError(f"{shown} answered HTTP {status}.", status)
        if "timed out" in str(error).lower() or "timeout" in type(error).__name__.lower():
            times = timeouts(self.timeout)
            return http.HttpError(f"Cannot reach {shown}: it did not answer within the connection timeout of "
                                  f"{times.connect:g} s or the read timeout of {times.read:g} s"
                                  f", or {limits.raise_hint('read_timeout_s')}.")
        return http.HttpError(f"Cannot reach {shown}: {type(error).__name__}. Check the URL and your network or proxy.")

    def scene(self, uuid: str, properties: dict) -> Scene:
        title = str(properties.get("title", ""))
        cloud = properties.get("cloudcoverpercentage")
        moment = properties.get("beginposition") or properties.get("datatakesensingstart")
        size = properties.get("size")
        return Scene(
            id=str(properties.get("uuid", uuid)), title=title, backend=self.name,
            datetime=(moment.replace(tzinfo=dt.timezone.utc) if isinstance(moment, dt.datetime)
                      else parse_datetime(str(moment))),
            cloud_cover=float(cloud) if cloud not in (None, "") else None,
            tile=properties.get("tileid") or tile_from_name(title), product_type=properties.get("producttype", ""),
            footprint_wkt=_footprint(properties.get("footprint")), url=properties.get("link"),
            checksums={}, size=_size_bytes(size) if size else None, quicklook=properties.get("link_icon"),
            online=str(properties.get("offline", "false")).lower() != "true", collection="SENTINEL-2",
        )


def closed_hub_message(url: str) -> Optional[str]:
    """Why a DHuS search at url cannot work when url is one of the closed public Copernicus hubs, else None."""
    host = (urlsplit(url).hostname or "").lower()
    if host not in CLOSED_HUB_HOSTS:
        return None
    return (f"{http.display_url(url)} is the address of the Copernicus Open Access Hub, and the public Copernicus "
            f"DHuS hubs closed in 2023. sentinelsat works only against a national mirror that still runs DHuS: "
            f"give that mirror's URL (URL), or search the Copernicus Data Space with the CDSE OData or the STAC "
            f"backend.")


def _footprint(wkt: Optional[str]) -> Optional[str]:
    geometry = ogr.CreateGeometryFromWkt(wkt) if wkt else None
    return geometry.ExportToIsoWkt() if geometry is not None else None


def _size_bytes(text: str) -> Optional[int]:
    """The size in bytes only when the hub gives it exactly ('5120 B'). Hubs write '790.26 MB', rounded:
    a download checked against that size would always be discarded as having the wrong size."""
    parts = text.split()
    if len(parts) != 2 or parts[1].upper() != "B" or not parts[0].isdigit():
        return None
    return int(parts[0])
