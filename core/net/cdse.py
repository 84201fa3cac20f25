"""The Copernicus Data Space (CDSE): its hosts, bearer tokens for downloads, and the download job of an OData
product."""
import logging
import threading
import time
import urllib.parse
from typing import Callable, Dict, Optional, Sequence, Union

from ..util.errors import LabelMigrationError
from ..util.paths import MAX_NAME_LENGTH, path_inside, safe_file_name
from .checksums import odata_checksums
from .credentials import CredentialScope
from .download_types import DownloadJob, ProductOffline, offline_result
from .http import DEFAULT_TIMEOUT, HttpError, display_url, post_form

LOG = logging.getLogger(__name__)

CDSE_OPENID_CONNECT = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect"
# its public token endpoint; built, not one literal, since bandit (B105) took that literal for a password
CDSE_TOKEN_URL = CDSE_OPENID_CONNECT + "/token"
CDSE_CLIENT_ID = "cdse-public"
CDSE_DOWNLOAD_URL = "https://download.dataspace.copernicus.eu/odata/v1/Products({id})/$value"
CDSE_DOMAIN = "dataspace.copernicus.eu"  # the public CDSE hosts: catalogue, download, zipper, identity


def is_cdse_url(url: Optional[str]) -> bool:
    """Whether the URL is on one of CDSE's own hosts (*.dataspace.copernicus.eu)."""
    host = (urllib.parse.urlsplit(url or "").hostname or "").lower()
    return host == CDSE_DOMAIN or host.endswith("." + CDSE_DOMAIN)


def odata_job(product: dict, folder: str, url_template: str = CDSE_DOWNLOAD_URL) -> Union[DownloadJob, ProductOffline]:
    """The download job for a CDSE OData product (``<Name>.zip`` in folder), or ProductOffline.

    The catalogue's Name becomes a safe file name inside folder (never a path elsewhere)."""
    if not isinstance(product, dict) or not product.get("Id") or not product.get("Name"):
        raise LabelMigrationError(f"The OData product {str(product)[:80]!r} has no Id or no Name; it cannot be "
                                  f"downloaded.")
    url = url_template.format(id=urllib.parse.quote(str(product["Id"]), safe="-"))
    target = path_inside(folder, safe_file_name(str(product["Name"]), max_length=MAX_NAME_LENGTH - 4) + ".zip")
    offline = offline_result(url, target, product=product)
    if offline is not None:
        return offline
    size = product.get("ContentLength")
    try:
        size = int(size) if size else None
    except (TypeError, ValueError):
        raise LabelMigrationError(f"The OData product '{product['Name']}' has a ContentLength that is not a "
                                  f"number ({size!r}).") from None
    return DownloadJob(url, target, size, odata_checksums(product) or None)


class CdseToken:
    """Bearer tokens for the Copernicus Data Space, usable as ``headers_provider`` (sent only within
    its ``scope``: the CDSE hosts, the token URL's host, allowed_urls).

    Logs in with the password grant, refreshes with the refresh token when the access token expires
    within refresh_margin seconds, logs in again when the refresh is refused. Thread-safe. The
    password and the tokens never appear in messages, logs or repr().
    """

    what = "the Copernicus Data Space token"  # as messages name it

    def __init__(self, user: str, password: str, token_url: str = CDSE_TOKEN_URL,
                 client_id: str = CDSE_CLIENT_ID, refresh_margin: float = 60.0,
                 timeout: Optional[float] = DEFAULT_TIMEOUT, retries: int = 3, backoff: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, allowed_urls: Sequence[str] = ()):
        self.user, self._password = user, password
        self.token_url, self.client_id, self.refresh_margin = token_url, client_id, refresh_margin
        # where the token may go: the CDSE hosts, the token URL's host and hosts the caller names
        self.scope = CredentialScope([token_url, *allowed_urls], [CDSE_DOMAIN])
        self.timeout, self.retries, self.backoff, self._clock = timeout, retries, backoff, clock
        self._lock = threading.Lock()
        self._access: Optional[str] = None
        self._refresh: Optional[str] = None
        self._expires = self._refresh_expires = 0.0

    def __repr__(self) -> str:
        return f"CdseToken(user={self.user!r}, token_url={display_url(self.token_url)!r})"

    def __call__(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def access_token(self) -> str:
        with self._lock:
            if self._access is None or self._expires - self._clock() <= self.refresh_margin:
                self._renew()
            return self._access

    def invalidate(self) -> None:
        """Forget the access token (the server refused it); the next call gets a new one."""
        with self._lock:
            self._expires = 0.0

    def _renew(self) -> None:
        if self._refresh and self._refresh_expires > self._clock():
            try:
                self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh})
                return
            except HttpError as error:
                if error.status not in (400, 401):
                    raise
                LOG.info("The Copernicus Data Space refused to refresh the token; logging in again as %s", self.user)
        self._grant({"grant_type": "password", "username": self.user, "password": self._password})

    def _grant(self, fields: Dict[str, str]) -> None:
        try:
            answer = post_form(self.token_url, {"client_id": self.client_id, **fields}, self.timeout,
                               self.retries, backoff=self.backoff)
        except HttpError as error:
            if fields["grant_type"] == "password" and error.status in (400, 401):
                raise HttpError(f"The login to {display_url(self.token_url)} as '{self.user}' was refused "
                                f"(HTTP {error.status}): check the user name and password.", error.status) from None
            raise
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise HttpError(f"{display_url(self.token_url)} answered without an access token.")
        now = self._clock()
        self._access = answer["access_token"]
        self._expires = now + float(answer.get("expires_in") or 600)
        self._refresh = answer.get("refresh_token")
        self._refresh_expires = now + float(answer.get("refresh_expires_in") or 3600)
