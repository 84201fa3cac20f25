"""CDSE STAC v1 assets read by GDAL window by window, behind the Copernicus Data Space bearer token.

CDSE's Sentinel-2 items list the SAFE's JP2 band files as assets (keys like ``B02_10m``, ``SCL_20m``) with
``s3://eodata/...`` hrefs and an HTTPS alternate (``alternate.https.href``) that needs the bearer token.
item_scene takes the alternate (https_alternate); stac_assets finds a band by CDSE's keys (band_asset_keys);
token_bound_scenes routes each asset that needs the token through the process's relay
(core.net.asset_relay): the run's CdseToken (logged in once per run, refreshed before it expires, renewed
when refused) goes only to the asset's server, never to GDAL, and at most MAX_CONNECTIONS requests go to
CDSE at once.
"""
import os
import re
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

from ..util.errors import LabelMigrationError
from .asset_relay import AssetRelay
from .cdse import CDSE_TOKEN_URL, CdseToken, is_cdse_url
from .connections import current_proxy
from .credentials import ScopedCredentials, scoped
from .http import display_url
from .parallel_downloads import MAX_CONNECTIONS

if TYPE_CHECKING:  # core.search imports this module (https_alternate)
    from ..search.scene import Scene

_BAND_KEY = re.compile(r"^([A-Z0-9]{3})_(\d+)m$")  # CDSE v1: B02_10m, B8A_20m, SCL_20m, TCI_10m


# -- the item side ----------------------------------------------------------------------------------

def https_alternate(asset: Mapping) -> Optional[str]:
    """The HTTPS alternate of a STAC asset whose own href is not HTTP (CDSE v1: ``s3://eodata/...``), else None."""
    href = str(asset.get("href") or "")
    alternate = asset.get("alternate")
    if href.startswith(("http://", "https://")) or not isinstance(alternate, dict):
        return None
    https = alternate.get("https")
    url = https.get("href") if isinstance(https, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def band_asset_keys(assets: Mapping[str, str], band: str) -> List[str]:
    """The asset keys of band in CDSE v1's naming (``B02_10m``, ``B02_20m``, ``B02_60m``), finest first."""
    found = [(int(match.group(2)), key) for key in assets for match in [_BAND_KEY.match(key)]
             if match and match.group(1) == band.upper()]
    return [key for _, key in sorted(found)]


_RELAY: Optional[AssetRelay] = None
_RELAY_LOCK = threading.Lock()
# run -> (user, token URL, allowed URLs) -> the run's token for assets: one login per run, not per label
_TOKENS: Dict[Optional[str], Dict[Tuple, ScopedCredentials]] = {}


def relay() -> AssetRelay:
    """The process's relay, started on first use."""
    global _RELAY
    with _RELAY_LOCK:
        if _RELAY is None:
            _RELAY = AssetRelay(MAX_CONNECTIONS)
            threading.Thread(target=_RELAY.serve_forever, name="cdse-asset-relay", daemon=True).start()
            _bypass_proxies_for_loopback()
        return _RELAY


def _bypass_proxies_for_loopback() -> None:
    """GDAL's curl must reach the relay directly, not through an http_proxy of the environment."""
    for name in ("no_proxy", "NO_PROXY"):
        current = [entry for entry in os.environ.get(name, "").split(",") if entry]
        if "127.0.0.1" not in current:
            os.environ[name] = ",".join(current + ["127.0.0.1"])


# -- the run side -----------------------------------------------------------------------------------

def asset_token(run: Optional[str], credentials: Optional[Tuple[str, str]], token_url: Optional[str],
                allowed_urls: Sequence[str] = ()) -> Optional[ScopedCredentials]:
    """The run's CDSE token for assets (sent only to the CDSE hosts, the token URL's host and allowed_urls)."""
    if not credentials:
        return None
    key = (credentials[0], token_url or CDSE_TOKEN_URL, tuple(allowed_urls))
    with _RELAY_LOCK:
        tokens = _TOKENS.setdefault(run, {})
        if key not in tokens:
            token = CdseToken(*credentials, token_url=token_url or CDSE_TOKEN_URL, allowed_urls=allowed_urls)
            tokens[key] = scoped(token, token.token_url)
        return tokens[key]


def token_bound_scenes(scenes: Sequence["Scene"], run: Optional[str], credentials: Optional[Tuple[str, str]],
                       token_url: Optional[str], allowed_urls: Sequence[str] = ()) -> List["Scene"]:
    """The scenes with every asset that needs the CDSE token read through the relay (copies; the others as
    they are). An asset needs it when its host is a CDSE host or one of allowed_urls' (the run's download
    URL: a private or test deployment)."""
    token = asset_token(run, credentials, token_url, allowed_urls)
    bound = []
    for scene in scenes:
        assets = dict(scene.assets)
        for name, href in scene.assets.items():
            if not href.startswith(("http://", "https://")) or not _needs_token(href, token, allowed_urls):
                continue
            if token is None:
                raise LabelMigrationError(
                    f"The asset {name} of '{scene.title}' at {display_url(href)} needs a Copernicus Data Space "
                    f"login: give the CDSE user name and password (an authentication configuration).")
            assets[name] = relay().register(href, token, current_proxy())
        bound.append(replace(scene, assets=assets))
    return bound


def _needs_token(href: str, token: Optional[ScopedCredentials], allowed_urls: Sequence[str]) -> bool:
    if token is not None:
        return token.scope.allows(href)
    return is_cdse_url(href)


def forget_run(run: Optional[str]) -> None:
    """Drop the run's tokens (and the password they hold) and its relay paths."""
    with _RELAY_LOCK:
        tokens = list(_TOKENS.pop(run, {}).values())
        current = _RELAY
    if current is not None and tokens:
        current.forget(tokens)


def held_runs() -> Dict[Optional[str], int]:
    """The runs whose CDSE tokens this process still holds, each with its relay paths: {} once every run is
    forgotten (checked on each Dask worker after a run)."""
    with _RELAY_LOCK:
        held = {run: list(tokens.values()) for run, tokens in _TOKENS.items()}
        current = _RELAY
    if current is None:
        return {run: 0 for run in held}
    with current.lock:
        return {run: sum(entry.credentials in tokens for entry in current.entries.values())
                for run, tokens in held.items()}
