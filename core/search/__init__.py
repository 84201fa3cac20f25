"""Scene search: one small interface (base.SearchBackend) over several catalogues.

    backend = make_backend("cdse-odata")            # or "stac", "dhus", "local" (URL = a folder)
    matches = search_scenes(footprints, backend, days_before=10, days_after=10, max_cloud=3.0, product="L2A")
    write_matches_csv("matches.csv", matches)
"""
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from ..errors import LabelMigrationError
from .base import (CSV_COLUMNS, FootprintQuery, Match, Scene, SearchBackend, SearchWindow, rank_matches,
                   search_scenes, write_matches_csv)
from ..http import basic_auth
from .dhus import DEFAULT_URL as DHUS_URL, DhusBackend
from .local import LocalArchiveBackend
from .odata import DEFAULT_URL as ODATA_URL, ODataBackend
from .stac import DEFAULT_URL as STAC_URL, StacBackend

Credentials = Tuple[str, str]


@dataclass(frozen=True)
class BackendInfo:
    label: str  # as shown to users
    default_url: Optional[str]
    factory: Callable[[Optional[str], Optional[Credentials]], SearchBackend]


BACKENDS: Dict[str, BackendInfo] = {
    "cdse-odata": BackendInfo("CDSE OData", ODATA_URL, lambda url, _credentials: ODataBackend(url)),
    "stac": BackendInfo("STAC API", STAC_URL,
                        lambda url, credentials: StacBackend(url, headers=basic_auth(credentials))),
    "dhus": BackendInfo("DHuS (sentinelsat-style hub)", DHUS_URL,
                        lambda url, credentials: DhusBackend(url, credentials)),
    "local": BackendInfo("Local archive", None, lambda url, _credentials: LocalArchiveBackend(url or "")),
}


def make_backend(name: str, url: Optional[str] = None, credentials: Optional[Credentials] = None) -> SearchBackend:
    """A backend by registry name; url None or '' means the backend's default address.

    CDSE OData searches are anonymous (credentials are for downloads); STAC and DHuS send them as
    HTTP Basic authentication.
    """
    info = BACKENDS.get((name or "").strip().lower())
    if info is None:
        raise LabelMigrationError(f"Unknown search backend '{name}'; use one of {', '.join(BACKENDS)}.")
    if info.default_url is None and not url:
        raise LabelMigrationError(f"The {info.label} backend needs a URL (a folder path).")
    return info.factory(url or info.default_url, credentials)


__all__ = ["BACKENDS", "CSV_COLUMNS", "FootprintQuery", "Match", "Scene", "SearchBackend", "SearchWindow",
           "make_backend", "rank_matches", "search_scenes", "write_matches_csv"]
