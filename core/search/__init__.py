"""Scene search: one small interface (base.SearchBackend) over several catalogues; the scene record and its
rows in scene.py.

    backend = make_backend("cdse-odata")            # or "stac", "dhus", "local" (URL = a folder)
    matches = search_scenes(footprints, backend, days_before=10, days_after=10, max_cloud=3.0, product="L2A")
    write_matches_csv("matches.csv", matches)
"""
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, Optional, Tuple

from ..util.errors import LabelMigrationError
from .base import (DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT, FootprintQuery,
                   SearchBackend, SearchWindow)
from .matching import rank_matches, search_scenes
from .results import write_matches_csv
from .scene import CSV_COLUMNS, LAYER_FIELDS, Match, Scene
from ..net.cdse import is_cdse_url
from ..net.http import basic_auth
from .dhus import DEFAULT_URL as DHUS_URL, DhusBackend
from .local import LocalArchiveBackend
from .odata import DEFAULT_URL as ODATA_URL, ODataBackend
from .stac import DEFAULT_URL as STAC_URL, StacBackend

Credentials = Tuple[str, str]


def QT_TR_NOOP(text: str) -> str:  # noqa: N802 (the name pylupdate5 looks for)
    """Marks a label for the translation files (the Makefile's translations target reads this module too);
    the adapters show it through tr(). The core itself has no Qt: this returns ``text``."""
    return text


@dataclass(frozen=True)
class BackendInfo:
    name: str  # the registry name (make_backend, MigrationOptions.backend)
    label: str  # as shown to users (translated by the adapters)
    default_url: Optional[str]
    factory: Callable[[Optional[str], Optional[Credentials]], SearchBackend]


# The backends in the order of the BACKEND enum of searchscenes and migratelabels (and of the dock's list):
# BACKEND=i in scripts, qgis_process calls and saved models (.model3) means BACKEND_CHOICES[i], so this order
# never changes. A new backend goes at the end.
BACKEND_CHOICES: Tuple[BackendInfo, ...] = (
    BackendInfo("cdse-odata", QT_TR_NOOP("CDSE OData"), ODATA_URL, lambda url, _credentials: ODataBackend(url)),
    BackendInfo("stac", QT_TR_NOOP("STAC API"), STAC_URL, lambda url, credentials: StacBackend(
        url, headers=None if is_cdse_url(url) else basic_auth(credentials))),
    BackendInfo("dhus", QT_TR_NOOP("DHuS (sentinelsat-style hub)"), DHUS_URL,
                lambda url, credentials: DhusBackend(url, credentials)),
    BackendInfo("local", QT_TR_NOOP("Local archive"), None,
                lambda url, _credentials: LocalArchiveBackend(url or "")),
)
BACKEND_NAMES: Tuple[str, ...] = tuple(info.name for info in BACKEND_CHOICES)
BACKENDS: Dict[str, BackendInfo] = {info.name: info for info in BACKEND_CHOICES}
DEFAULT_BACKEND = "cdse-odata"


@dataclass(frozen=True)
class SearchOptions:
    """The search parameters searchscenes and migratelabels share, as the core takes them (defaults: the
    parameters' defaults)."""
    backend: str = DEFAULT_BACKEND
    url: Optional[str] = None  # None: the backend's default address
    collection: Optional[str] = None
    credentials: Optional[Credentials] = field(default=None, repr=False)
    days_before: float = DEFAULT_DAYS_BEFORE
    days_after: float = DEFAULT_DAYS_AFTER
    max_cloud: Optional[float] = DEFAULT_MAX_CLOUD
    product: Optional[str] = DEFAULT_PRODUCT

    def as_dict(self) -> Dict[str, Any]:
        """The fields by name (credentials included), e.g. for MigrationOptions(**options.as_dict(), ...)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}

    def make_backend(self) -> SearchBackend:
        return make_backend(self.backend, self.url, self.credentials)

    def search_arguments(self) -> Dict[str, Any]:
        """search_scenes' keyword arguments for the window, cloud, product and collection."""
        return dict(days_before=self.days_before, days_after=self.days_after, max_cloud=self.max_cloud,
                    product=self.product, collection=self.collection)


def make_backend(name: str, url: Optional[str] = None, credentials: Optional[Credentials] = None) -> SearchBackend:
    """A backend by registry name; url None or '' means the backend's default address.

    CDSE OData and CDSE STAC searches are anonymous (the credentials are for a CDSE token, used for
    downloads and assets only); other STAC APIs and DHuS get them as HTTP Basic authentication.
    """
    info = BACKENDS.get((name or "").strip().lower())
    if info is None:
        raise LabelMigrationError(f"Unknown search backend '{name}'; use one of {', '.join(BACKENDS)}.")
    if info.default_url is None and not url:
        raise LabelMigrationError(f"The {info.label} backend needs a URL (a folder path).")
    return info.factory(url or info.default_url, credentials)


__all__ = ["BACKENDS", "BACKEND_CHOICES", "BACKEND_NAMES", "CSV_COLUMNS", "DEFAULT_BACKEND", "FootprintQuery",
           "LAYER_FIELDS", "Match", "Scene", "SearchBackend", "SearchOptions", "SearchWindow", "make_backend",
           "rank_matches", "search_scenes", "write_matches_csv"]
