"""GDAL's process-wide settings, changed for the length of a block and restored after it: exceptions,
the block cache and the HTTP limits of a job."""
from contextlib import contextmanager
from typing import ContextManager, Dict, Iterator, Optional

from osgeo import gdal, ogr, osr

from . import limits
from .job_setting import JobSetting


@contextmanager
def gdal_errors() -> Iterator[None]:
    """Turn GDAL/OGR/OSR errors into Python exceptions for the duration of the block.

    The previous setting is restored, so QGIS and other plugins see GDAL as they left it.
    """
    modules = (gdal, ogr, osr)
    previous = [module.GetUseExceptions() for module in modules]
    for module in modules:
        module.UseExceptions()
    try:
        yield
    finally:
        for module, was_on in reversed(list(zip(modules, previous))):  # GDAL keeps them as a stack
            if not was_on:
                module.DontUseExceptions()


@contextmanager
def gdal_cache_limit(limit_bytes: int) -> Iterator[None]:
    """Lower GDAL's block cache (by default 5 % of the RAM) for a streaming job, then restore it."""
    previous = gdal.GetCacheMax()
    if previous > limit_bytes:
        gdal.SetCacheMax(limit_bytes)
    try:
        yield
    finally:
        if previous > limit_bytes:
            gdal.SetCacheMax(previous)


def _apply_gdal_http_options(options: Optional[Dict[str, str]]) -> None:
    """Set GDAL's HTTP options to the job's (None: unset those this module set). An option the user
    set for GDAL before the plugin touched it is left alone."""
    for key in _GDAL_HTTP_KEYS:
        value = gdal.GetConfigOption(key)
        if value is not None and _GDAL_OPTIONS_SET.get(key) != value:
            continue  # the user's own setting
        wanted = options.get(key) if options else None
        gdal.SetConfigOption(key, wanted)
        if wanted is None:
            _GDAL_OPTIONS_SET.pop(key, None)
        else:
            _GDAL_OPTIONS_SET[key] = wanted


_GDAL_HTTP_KEYS = ("GDAL_HTTP_CONNECTTIMEOUT", "GDAL_HTTP_LOW_SPEED_TIME", "GDAL_HTTP_LOW_SPEED_LIMIT",
                   "GDAL_HTTP_MAX_RETRY", "GDAL_HTTP_RETRY_DELAY")
_GDAL_OPTIONS_SET: Dict[str, str] = {}
_GDAL_HTTP = JobSetting(None, on_change=_apply_gdal_http_options)


def gdal_network_limits() -> ContextManager[Optional[Dict[str, str]]]:
    """GDAL's own HTTP reads (/vsicurl/ COGs, STAC assets) under the limits in force for the job's
    duration (see core.util.job_setting): connection timeout, a read that brings nothing for read_timeout_s
    is abandoned, 429/5xx retried three times. Options the user set for GDAL are left as they are."""
    now = limits.current()
    return _GDAL_HTTP.using({
        "GDAL_HTTP_CONNECTTIMEOUT": f"{now.connect_timeout_s:g}", "GDAL_HTTP_LOW_SPEED_TIME": f"{now.read_timeout_s:g}",
        "GDAL_HTTP_LOW_SPEED_LIMIT": "1", "GDAL_HTTP_MAX_RETRY": "3", "GDAL_HTTP_RETRY_DELAY": "1"})
