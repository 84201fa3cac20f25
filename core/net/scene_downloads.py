"""The downloads of a scene layer's rows (downloadscenes): each row's whole product or its named assets, inside
one folder, with the account's credentials sent only to the hosts each row belongs to."""
import logging
import os
import urllib.parse
from typing import Callable, Dict, List, Optional, Sequence

from ..search.scene import Row, row_json_object, row_size, row_text, short_text
from ..util.errors import LabelMigrationError
from ..util.paths import MAX_NAME_LENGTH, check_paths, path_inside, safe_file_name
from .cdse import CDSE_DOMAIN, CDSE_TOKEN_URL, CdseToken
from .credentials import CredentialScope, HeadersProvider, ScopedCredentials
from .download_types import DownloadJob
from .http import basic_auth, display_url

LOG = logging.getLogger(__name__)
_DOWNLOADABLE = ("http://", "https://")


def is_cdse(backend: str) -> bool:
    return "odata" in backend.lower() or "cdse" in backend.lower()


class SceneCredentials:
    """One account's credentials for the rows of a scene layer, each row only to hosts that belong
    to it: CDSE OData rows get a bearer token sent to the CDSE hosts, the token URL's host and
    allowed_urls; other rows get HTTP Basic, sent to allowed_urls only (the account's own server).
    Any other host gets nothing, and warn says why (once per host)."""

    def __init__(self, account, token_url: str = CDSE_TOKEN_URL, allowed_urls: Sequence[Optional[str]] = (),
                 warn: Optional[Callable[[str], None]] = None, advice: str = ""):
        allowed = [url for url in allowed_urls if url]
        self.token = ScopedCredentials(CdseToken(*account, token_url=token_url),
                                       CredentialScope([token_url, *allowed], [CDSE_DOMAIN]), warn,
                                       CdseToken.what, advice)
        self.basic = ScopedCredentials(lambda: basic_auth(account), CredentialScope(allowed), warn,
                                       "the user name and password", advice)

    def __call__(self, row: Row) -> ScopedCredentials:
        return self.token if is_cdse(row_text(row.get("backend"))) else self.basic


def scene_jobs(rows: Sequence[Row], folder: str, assets: Sequence[str] = (),
               inputs: Sequence[tuple] = (),
               credentials: Optional[Callable[[Row], Optional[HeadersProvider]]] = None,
               warn: Optional[Callable[[str], None]] = None) -> List[DownloadJob]:
    """The download jobs for the rows of a scene layer: each row's whole product
    (``<title>.zip``), or its named assets (``<id>/<asset>.<ext>``), inside folder.

    Names from the layer are sanitised (core.util.paths; warn tells when a name had to change). A row
    whose fields are malformed, or whose target would be an input (inputs: (parameter, path) pairs)
    or another row's different file, is refused with a message naming the scene. Rows already on
    disk (a local archive) need no job. Nothing is created on disk here.
    """
    jobs: Dict[str, DownloadJob] = {}
    warn = warn or LOG.warning
    for row in rows:
        for job in _row_jobs(row, folder, assets, warn):
            job.headers_provider = credentials(row) if credentials else None
            earlier = jobs.setdefault(os.path.normcase(os.path.abspath(job.target)), job)
            if earlier.url != job.url:
                raise LabelMigrationError(
                    f"Two scenes would be saved as the same file '{job.target}' ({display_url(earlier.url)} and "
                    f"{display_url(job.url)}); keep one of them in the scene layer.")
    result = list(jobs.values())
    check_paths(inputs=inputs, outputs=[(f"download '{os.path.basename(job.target)}'", job.target) for job in result])
    return result


def _row_jobs(row: Row, folder: str, assets: Sequence[str], warn: Callable[[str], None]) -> List[DownloadJob]:
    raw_title = row_text(row.get("title")) or row_text(row.get("id"))
    if not raw_title:
        raise LabelMigrationError("A scene of the scene layer has neither a title nor an id; it cannot be named.")
    title = short_text(raw_title)  # as shown in messages
    if assets:
        available = row_json_object(row, "assets", title) or {}
        missing = [name for name in assets if name not in available]
        if missing:
            raise LabelMigrationError(f"The scene '{title}' has no asset {', '.join(missing)} (it has "
                                      f"{', '.join(sorted(map(short_text, available))) or 'none'}).")
        subfolder = _safe(row_text(row.get("id")) or raw_title,
                          f"The scene id '{short_text(row.get('id') or title)}'", warn)
        return [DownloadJob(href, path_inside(folder, subfolder, _safe(name + _extension(href),
                                                                       f"The asset name '{short_text(name)}'", warn)))
                for name, href in ((name, _href(available[name], f"asset '{name}'", title)) for name in assets)
                if href]
    url = row_text(row.get("url"))
    if not url:
        raise LabelMigrationError(
            f"The scene '{title}' has no whole-product download; name the assets to download (ASSETS).")
    url = _href(url, "url", title)
    if not url:
        return []  # a local archive: nothing to download
    stem = raw_title[:-5] if raw_title.upper().endswith(".SAFE") else raw_title
    stem = stem[:-4] if stem.lower().endswith(".zip") else stem
    name = _safe(stem, f"The scene title '{title}'", warn, 4) + ".zip"  # .zip: its content is checked
    checksums = row_json_object(row, "checksums", title)
    return [DownloadJob(url, path_inside(folder, name), expected_size=row_size(row, title),
                        checksums=checksums or None)]


def _safe(name: str, what: str, warn: Callable[[str], None], reserve: int = 0) -> str:
    """safe_file_name(name) (reserve: characters kept free for a suffix), telling warn when the name had to change."""
    safe = safe_file_name(name, max_length=MAX_NAME_LENGTH - reserve)
    if safe != name:
        warn(f"{what} is not a safe file name (a path, '..', control characters or too long); the file is "
             f"named '{safe}' instead.")
    return safe


def _href(value, field_name: str, title: str) -> Optional[str]:
    """An http(s) URL to download, None for a file already on disk, an error for anything else."""
    href = row_text(value).strip()
    if href.lower().startswith(_DOWNLOADABLE):
        return href
    if href and "://" not in href and os.path.exists(href):
        return None
    scheme = href.split("://", 1)[0] + "://" if "://" in href else None
    why = (f"a {scheme} address, which cannot be downloaded over HTTP(S)" if scheme
           else "neither a web address nor a file on disk")
    raise LabelMigrationError(f"The scene '{title}' has a {field_name} that is {why} ({href[:120]!r}).")


def _extension(href: str) -> str:
    """'.tif' from an asset's href (letters and digits only, at most 8), else ''."""
    tail = urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1]
    extension = tail.rsplit(".", 1)[1] if "." in tail else ""
    return "." + extension if extension.isalnum() and extension.isascii() and len(extension) <= 8 else ""
