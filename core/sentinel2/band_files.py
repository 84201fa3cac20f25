"""Band files of Sentinel-2 products, opened for band stacks; during a run (begin_reusing_band_files) kept
open and shared across stacks and threads, so that GDAL's block cache serves decoded JPEG 2000 tiles again."""
import threading
from collections import OrderedDict
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from osgeo import gdal

from ..util.gdal_settings import gdal_cache_limit

# While band files are reused (a migration run), at most this many stay open, most recently used kept
MAX_KEPT_BAND_FILES = 64
# and GDAL's block cache (by default 5 % of the RAM) is held at most at this: enough for the tiles
# around a few rows of labels, not for whole Sentinel-2 bands
REUSE_BLOCK_CACHE_BYTES = 256 * 1024 ** 2
_KEPT_LOCK = threading.Lock()
_KEPT = {"users": 0, "files": OrderedDict(), "cache_limit": ExitStack(), "products": {}}


@dataclass
class OpenBandFile:
    """An open band file; a GDAL dataset is read by one thread at a time, so reads take its lock."""
    dataset: gdal.Dataset
    lock: threading.Lock = field(default_factory=threading.Lock)


def begin_reusing_band_files() -> None:
    """From now on band files stay open between band stacks and are shared by the threads of the
    process, so that GDAL's block cache, which lives with the open file, serves the JPEG 2000 tiles
    decoded for one label to the next label on the same tile instead of decoding them again.
    Balanced by end_reusing_band_files()."""
    with _KEPT_LOCK:
        _KEPT["users"] += 1
        if _KEPT["users"] == 1:
            _KEPT["cache_limit"].enter_context(gdal_cache_limit(REUSE_BLOCK_CACHE_BYTES))


def end_reusing_band_files() -> None:
    """The last user closes every kept file and gives GDAL's block cache its size back."""
    with _KEPT_LOCK:
        _KEPT["users"] = max(0, _KEPT["users"] - 1)
        if _KEPT["users"] == 0:
            _KEPT["files"].clear()
            _KEPT["products"].clear()
            _KEPT["cache_limit"].close()  # gdal_cache_limit restores the size it lowered


@contextmanager
def reusing_band_files() -> Iterator[None]:
    begin_reusing_band_files()
    try:
        yield
    finally:
        end_reusing_band_files()


def open_band_file(path: str) -> OpenBandFile:
    """A newly opened file, or the kept one of the same, unchanged file while files are reused."""
    with _KEPT_LOCK:
        reusing = _KEPT["users"] > 0
    if not reusing:
        return OpenBandFile(_gdal_open(path))
    stat = gdal.VSIStatL(path)
    key = (path, stat.mtime, stat.size) if stat is not None else (path, None, None)
    with _KEPT_LOCK:
        kept = _KEPT["files"].get(key)
        if kept is not None:
            _KEPT["files"].move_to_end(key)
            return kept
    opened = OpenBandFile(_gdal_open(path))  # outside the lock: other threads go on meanwhile
    with _KEPT_LOCK:
        kept = _KEPT["files"].setdefault(key, opened)  # or the one another thread opened meanwhile
        _KEPT["files"].move_to_end(key)
        while len(_KEPT["files"]) > MAX_KEPT_BAND_FILES:
            _KEPT["files"].popitem(last=False)  # a reader still holding it finishes with it first
    return kept


def _gdal_open(path: str) -> gdal.Dataset:
    dataset = gdal.Open(path)
    if dataset is None:  # GDAL without exceptions
        raise RuntimeError(gdal.GetLastErrorMsg() or "GDAL cannot open it")
    return dataset


def kept_product(path: str):
    """core.sentinel2.safe.open_safe(path); while band files are reused, a product's metadata is read
    once per run (again when the product changes) instead of once per label and candidate."""
    from .safe import open_safe
    with _KEPT_LOCK:
        reusing = _KEPT["users"] > 0
    if not reusing:
        return open_safe(path)
    stat = gdal.VSIStatL(path)
    key = (path, stat.mtime, stat.size) if stat is not None else (path, None, None)
    with _KEPT_LOCK:
        product = _KEPT["products"].get(key)
    if product is None:
        product = open_safe(path)
        with _KEPT_LOCK:
            product = _KEPT["products"].setdefault(key, product)
    return product
