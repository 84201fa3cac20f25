"""The scenes a label may migrate onto: the run's search backend, one candidate per datatake (its tiles
mosaicked), and where each candidate is read from (a SAFE product in place, a download, or STAC assets)."""
import math
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..labels.crop import CropResult
from ..net.cdse import CDSE_TOKEN_URL, CdseToken
from ..net.cdse_assets import forget_run, token_bound_scenes
from ..net.download import download, download_lock
from ..net.http import basic_auth
from ..net.parallel_downloads import MAX_CONNECTIONS
from ..search import make_backend
from ..search.scene import Scene
from ..landsat.assets import fetch_landsat  # after core.search: it reads core.migration.stac_assets
from ..landsat.names import acquisition_key, is_landsat
from ..sentinel2.eopf import is_eopf_product
from ..sentinel2.safe import is_safe_product
from ..util.errors import LabelMigrationError
from ..util.paths import path_inside
from ..util.progress import Steps
from .options import DOWNLOAD_BACKENDS, RunSettings
from .pair_files import download_name
from .stac_assets import stac_rasters

_ORBIT = re.compile(r"_R(\d{3})_")
_DATATAKE = re.compile(r"^(S2[A-D])_MSIL(?:1C|2A)_(\d{8}T\d{6})_N\d{4}_R(\d{3})_")

_BACKENDS: Dict[tuple, object] = {}
_BACKENDS_LOCK = threading.Lock()
_DOWNLOADS = threading.BoundedSemaphore(MAX_CONNECTIONS)


def search_backend(settings: RunSettings):
    """One search backend per process and set-up: a local archive is indexed once, not per label."""
    # per run: a later run must see products added to a local archive since
    key = (settings.run, settings.backend, settings.url, settings.credentials, settings.download_url)
    with _BACKENDS_LOCK:
        if key not in _BACKENDS:
            backend = make_backend(settings.backend, settings.url, settings.credentials)
            if settings.download_url and hasattr(backend, "download_url"):
                backend.download_url = settings.download_url.rstrip("/")  # scenes' urls are made from it
            if hasattr(backend, "index"):
                backend.index()
            _BACKENDS[key] = backend
        return _BACKENDS[key]


def forget_backends(run: Optional[str]) -> None:
    with _BACKENDS_LOCK:
        for key in [key for key in _BACKENDS if key[0] == run]:
            del _BACKENDS[key]
    forget_run(run)  # the run's CDSE asset token


@dataclass
class Candidate:
    scenes: List[Scene]  # the datatake's tiles over the label, best-covering first
    offset_days: Optional[float]
    coverage_pct: Optional[float]
    path: str = ""
    other_tiles: List[str] = field(default_factory=list)
    band_names: Optional[List[str]] = None
    scl: Optional[str] = None  # a raster holding the SCL band (a SAFE product or a STAC asset)
    footprint_cloud: Optional[float] = None  # cloud and cloud shadow, % of the footprint's seen pixels
    footprint_shadow: Optional[float] = None  # the shadow part of it; None when the source has no shadow class
    nodata_pct: Optional[float] = None
    problem: Optional[str] = None
    clouds: Optional[str] = None  # the cloud model's classes on the candidate's crop (rating ran the model)
    scl_crop: Optional[str] = None  # SCL on the candidate's crop (rating read it)
    crop: Optional[CropResult] = None  # the candidate's image/label crop, when rating made one for the model
    scl_is_product: bool = False  # scl is a SAFE product (its SCL band read, its other tiles too), not a raster
    scl_window: Optional[object] = None  # SCL under the label read in memory (core.migration.scl_rating.SclWindow)
    qa_pixel: Optional[str] = None  # Landsat: its QA_PIXEL raster, rated in place of SCL (core.landsat.qa_pixel)

    @property
    def scene(self) -> Scene:
        return self.scenes[0]

    def key(self):
        cloud = self.footprint_cloud if self.footprint_cloud is not None else self.scene.cloud_cover
        return (self.problem is not None, math.inf if cloud is None else round(cloud, 6),
                math.inf if self.offset_days is None else abs(self.offset_days),
                -(self.coverage_pct or 0.0), self.scene.datetime, self.scene.id)


def _datatake_key(scene: Scene):
    """Tiles of one acquisition share the product name's spacecraft, datatake start and relative orbit
    (a STAC item's own datetime differs from tile to tile by seconds). Landsat: core.landsat.names."""
    landsat = acquisition_key(scene)
    if landsat:
        return landsat
    named = _DATATAKE.match(scene.title or "")
    if named:
        return named.groups()
    orbit = _ORBIT.search(scene.title or "")
    return scene.datetime.replace(microsecond=0), (scene.title or "")[:3], orbit.group(1) if orbit else scene.id


def datatakes(matches: Sequence) -> List[Candidate]:
    """One candidate per datatake: tiles of one acquisition are mosaicked when the label straddles them."""
    groups: Dict[tuple, list] = {}
    for match in matches:
        groups.setdefault(_datatake_key(match.scene), []).append(match)
    candidates = []
    for group in groups.values():
        group.sort(key=lambda m: (-(m.coverage_pct or 0.0), m.scene.id))
        first = group[0]
        candidates.append(Candidate([m.scene for m in group], first.offset_days, first.coverage_pct))
    return candidates


def fetch(candidate: Candidate, settings: RunSettings, output_folder: str, work: str, steps: Steps) -> None:
    """Where to read the candidate from: a SAFE product in place (local archive), a downloaded
    SAFE (OData, DHuS) or a VRT over the STAC assets (COG range reads through /vsicurl/).
    Each scene is checked for being a product once; rating reads the answer in candidate.scl_is_product."""
    bands = [band.strip().upper() for band in settings.bands]
    # a STAC item is read through its band assets, an EOPF item (its product asset a .zarr) through the Zarr reader
    products = [scene for scene in candidate.scenes if is_eopf_product(scene.url or "")] \
        if settings.backend == "stac" else [
        scene for scene in candidate.scenes if scene.url and _is_product(scene, settings)]
    candidate.band_names = bands
    if settings.backend == "stac" and is_landsat(candidate.scene):
        fetch_landsat(candidate, bands, work)
        return
    if not products or products[0] is not candidate.scene:
        readable = token_bound_scenes(candidate.scenes, settings.run, settings.credentials, settings.token_url,
                                      [url for url in (settings.download_url,) if url])  # CDSE v1's assets
        candidate.path, candidate.scl = stac_rasters(readable, bands, work)
        return
    paths = [_product_path(scene, settings, output_folder, steps) for scene in products]
    # only the tiles that cover part of the label are mosaicked; the first covers most of it
    candidate.path, candidate.other_tiles = paths[0], paths[1:]
    if candidate.scene.level == "L2A":
        candidate.scl = candidate.path
        # a download is checked once it is here; a product in place was checked by _is_product
        candidate.scl_is_product = (is_safe_product(candidate.path) if settings.backend in DOWNLOAD_BACKENDS
                                    else True)


def _is_product(scene: Scene, settings: RunSettings) -> bool:
    if settings.backend in DOWNLOAD_BACKENDS:
        return True
    return os.path.exists(scene.url) and (is_safe_product(scene.url) or is_eopf_product(scene.url))


def _product_path(scene: Scene, settings: RunSettings, output_folder: str, steps: Steps) -> str:
    if settings.backend not in DOWNLOAD_BACKENDS:
        return scene.url
    target = path_inside(output_folder, "downloads", download_name(scene.title))
    credentials = settings.credentials
    if settings.backend == "cdse-odata":
        allowed_urls = [url for url in (settings.download_url,) if url]
        headers = CdseToken(*credentials, token_url=settings.token_url or CDSE_TOKEN_URL,
                            allowed_urls=allowed_urls) if credentials else None
    else:
        headers = (lambda: basic_auth(credentials)) if credentials else None
    if not scene.online:
        raise LabelMigrationError(f"'{scene.title}' is offline (in the long-term archive); order it or try later.")
    # labels sharing a scene take turns on its file (the later ones find it complete), and at most
    # MAX_CONNECTIONS downloads run per process
    with download_lock(target, steps.cancelled), _DOWNLOADS:
        if os.path.isfile(target) and not scene.checksums and scene.size is None:
            return target  # nothing to check it by (DHuS): download() renames only a complete transfer into place
        outcome = download(scene.url, target, expected_size=scene.size, checksums=scene.checksums or None,
                           headers_provider=headers, is_cancelled=steps.cancelled)
    if not outcome.ok:
        raise LabelMigrationError(outcome.message)
    return target
