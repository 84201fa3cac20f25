"""Downloads of whole products (CDSE OData ``$value``, DHuS) and single assets (STAC COGs).

A download writes to ``<target>.part`` beside the target, resumes with ``Range`` after a cut
connection or a retried error, checks what arrived (the content type and the first bytes must fit
the target: a .zip starts with PK, a .tif with a TIFF header, a .jp2 with the JPEG 2000 signature),
the size and the catalogue's checksum, and only then renames the part file to the target. The
target therefore never holds a partial file. After a cancel the ``.part`` file is kept on purpose,
so that the next call with the same target resumes from it.

Timeouts (core.util.limits): each request has the connect and read timeouts; a transfer that brings
fewer than ``STALL_MIN_BYTES`` in ``stall_timeout_s`` is stalled and counts as a failed try even
when some bytes came; retries stop ``retry_deadline_s`` after the first try, or after the last try
that brought data (a long download over a flaky line goes on while it progresses).

Credentials go only to the hosts of their scope (:class:`core.net.http.ScopedCredentials`); a plain
headers provider is sent only to the download URL's own host, never after a redirect elsewhere.

Only the standard library (plus the optional ``blake3`` package for BLAKE3 checksums).
"""
import errno
import hashlib
import http.client
import json
import logging
import os
import shutil
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

from ..util import limits
from ..util.errors import Cancelled, LabelMigrationError
from .http import (DEFAULT_TIMEOUT, CredentialScope, HeadersProvider, HttpError, ScopedCredentials, StallWatch,
                   Timeouts, basic_auth, display_url, open_once, post_form, scoped, timeouts)
from ..util.paths import (MAX_NAME_LENGTH, check_paths, missing_folders, path_inside, remove_empty_folders,
                          safe_file_name)
from .retry import Retries

LOG = logging.getLogger(__name__)

MAX_CONNECTIONS = 4  # the Copernicus Data Space allows four parallel downloads per user
CHUNK_SIZE = 1 << 20
PART_SUFFIX = ".part"
RESUME_MIN_BYTES = 1 << 20  # a failed download keeps its part file (to resume from) only from this size on
CDSE_OPENID_CONNECT = "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect"
# its public token endpoint; built, not one literal, since bandit (B105) took that literal for a password
CDSE_TOKEN_URL = CDSE_OPENID_CONNECT + "/token"
CDSE_CLIENT_ID = "cdse-public"
CDSE_DOWNLOAD_URL = "https://download.dataspace.copernicus.eu/odata/v1/Products({id})/$value"
CDSE_DOMAIN = "dataspace.copernicus.eu"  # the public CDSE hosts: catalogue, download, zipper, identity
_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
_NETWORK_ERRORS = (socket.timeout, TimeoutError, OSError, http.client.HTTPException)
HEAD_BYTES = 16  # the first bytes kept to check a file's signature
_TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
SIGNATURES = {  # target suffix -> (what it is, the signatures it may start with)
    ".zip": ("a zip archive", (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")),
    ".tif": ("a TIFF image", _TIFF),
    ".tiff": ("a TIFF image", _TIFF),
    ".jp2": ("a JPEG 2000 image", (b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")),
}


# -- results ------------------------------------------------------------------------------------
@dataclass
class DownloadProgress:
    bytes_done: int
    bytes_total: Optional[int]
    rate_bytes_per_s: float

    @property
    def fraction(self) -> Optional[float]:
        """0..1 when the total is known (for a plain progress bar), else None."""
        if not self.bytes_total:
            return None
        return min(1.0, self.bytes_done / self.bytes_total)


@dataclass
class DownloadResult:
    url: str
    path: str
    size: int
    verified_with: str  # "MD5", "MD5+BLAKE3", "size" or "nothing"
    skipped: bool = False  # the target was already complete
    resumed: bool = False  # part of the file came from an earlier request
    requests: int = 0
    warnings: List[str] = field(default_factory=list)
    offline = False
    ok = True


@dataclass
class ProductOffline:
    """The product sits in a long-term archive; the hub was asked to restore it. Not an error."""

    url: str
    target: str
    message: str
    offline = True
    ok = False


@dataclass
class DownloadFailed:
    """One job of :func:`download_many` that failed (only with ``raise_on_error=False``)."""

    url: str
    target: str
    message: str
    offline = False
    ok = False


@dataclass
class DownloadJob:
    url: str
    target: str
    expected_size: Optional[int] = None
    checksums: Optional[Dict[str, str]] = None
    headers_provider: Optional[HeadersProvider] = None  # this job's credentials (else download_many's)


Outcome = Union[DownloadResult, ProductOffline]


class _Retry(Exception):
    """A failed attempt worth another one (network trouble, 429/5xx, a cut connection, a stall)."""

    def __init__(self, reason: str, retry_after: Optional[str] = None, stalled: bool = False,
                 status: Optional[int] = None):
        super().__init__(reason)
        self.reason, self.retry_after, self.stalled, self.status = reason, retry_after, stalled, status


class WrongContent(LabelMigrationError):
    """The server sent something other than the file asked for (an HTML page instead of a zip)."""


# -- what arrived -------------------------------------------------------------------------------
def _suffix(target: str) -> str:
    return os.path.splitext(target)[1].lower()


def _described(head: bytes) -> str:
    text = head.lstrip().lower()
    if not head:
        return "an empty file"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page"
    if text.startswith(b"<"):
        return "an XML or HTML document"
    if text.startswith((b"{", b"[")):
        return "JSON text"
    return "bytes " + head[:8].hex(" ")


def check_content_type(shown: str, target: str, content_type: Optional[str]) -> None:
    """Refuse a text answer (HTML, JSON, XML, plain text) for a binary target (.zip, .tif, .jp2)."""
    if _suffix(target) not in SIGNATURES or not content_type:
        return
    kind = content_type.split(";")[0].strip().lower()
    textual = (kind.startswith("text/") or kind in ("application/json", "application/xml")
               or kind.endswith(("+json", "+xml")))
    if textual:
        raise _wrong(shown, target, "an HTML page" if "html" in kind else f"'{kind}' text")


def check_signature(shown: str, target: str, head: bytes, complete: bool = True) -> None:
    """Refuse a file whose first bytes are not those of its kind (by the target's suffix); while
    the file is incomplete (complete false), a head that may still become a signature passes."""
    expected = SIGNATURES.get(_suffix(target))
    if expected is None or head.startswith(expected[1]):
        return
    if not complete and any(signature.startswith(head) for signature in expected[1]):
        return
    raise _wrong(shown, target, _described(head))


def _wrong(shown: str, target: str, came: str) -> WrongContent:
    return WrongContent(
        f"{shown} sent {came} instead of {SIGNATURES[_suffix(target)][0]} for '{os.path.basename(target)}'; "
        f"nothing was kept. The address may lead to a login or error page: check the scene's URL and the "
        f"credentials.")


# -- checksums ----------------------------------------------------------------------------------
def _algorithm(name: str) -> str:
    return name.upper().replace("-", "").replace("_", "")


def _new_hasher(algorithm: str):
    """A hashlib-style object for algorithm, or None when this Python cannot compute it."""
    if algorithm == "BLAKE3":
        try:
            import blake3  # optional package
        except ImportError:
            return None
        return blake3.blake3()
    try:
        return hashlib.new(algorithm.lower(), usedforsecurity=False)
    except (ValueError, TypeError):
        return None


class _Verifier:
    """The checks one download can make: the catalogue's checksums this Python can compute, the size."""

    def __init__(self, name: str, checksums: Optional[Dict[str, str]], expected_size: Optional[int]):
        self.name, self.expected_size = name, expected_size
        self.expected: Dict[str, str] = {}
        self.warnings: List[str] = []
        for algorithm, value in (checksums or {}).items():
            key = _algorithm(algorithm)
            if _new_hasher(key) is None:
                need = " (install the 'blake3' package)" if key == "BLAKE3" else ""
                self.warnings.append(f"'{name}': this Python cannot compute {key} checksums{need}; "
                                     f"it is checked by other means only.")
            else:
                self.expected[key] = str(value).strip().lower()
        if not self.expected:
            if expected_size is not None and checksums:
                self.warnings.append(f"'{name}' is verified by its size only.")
            elif expected_size is None:
                self.warnings.append(f"'{name}' cannot be verified: no usable checksum and no size from the catalogue.")
        self.reset()

    @property
    def method(self) -> str:
        if self.expected:
            return "+".join(sorted(self.expected))
        return "size" if self.expected_size is not None else "nothing"

    @property
    def can_verify(self) -> bool:
        return bool(self.expected) or self.expected_size is not None

    def reset(self) -> None:
        self.hashers = {key: _new_hasher(key) for key in self.expected}

    def update(self, data: bytes) -> None:
        for hasher in self.hashers.values():
            hasher.update(data)

    def mismatch(self, size: int) -> Optional[str]:
        """None when the bytes fed to update() match; else a message naming both values."""
        if self.expected_size is not None and size != self.expected_size:
            return (f"'{self.name}' has {size} bytes but the catalogue says {self.expected_size}; "
                    f"the download was discarded.")
        for key, expected in self.expected.items():
            actual = self.hashers[key].hexdigest().lower()
            if actual != expected:
                return (f"'{self.name}' is damaged: its {key} checksum is {actual} but the catalogue says "
                        f"{expected}; the download was discarded.")
        return None

    def file_matches(self, path: str) -> bool:
        """Whether an existing file passes every check (used to skip finished downloads)."""
        if not self.can_verify or not os.path.isfile(path):
            return False
        if self.expected_size is not None and os.path.getsize(path) != self.expected_size:
            return False
        self.reset()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(CHUNK_SIZE), b""):
                self.update(block)
        ok = self.mismatch(os.path.getsize(path)) is None
        self.reset()
        return ok


# -- the part file ------------------------------------------------------------------------------
class _PartFile:
    """``<target>.part``: appended to, fed to the verifier, restarted when the server ignores Range."""

    def __init__(self, path: str, verifier: _Verifier):
        self.path, self.verifier = path, verifier
        self.resumed = False
        self.handle = None
        self.size = 0
        self.head = b""  # the file's first HEAD_BYTES

    def open(self) -> None:
        """Open for appending; bytes an earlier call left behind are read into the checksums."""
        self.verifier.reset()
        self.size, self.resumed, self.head = 0, False, b""
        if os.path.exists(self.path):
            expected = self.verifier.expected_size
            too_big = expected is not None and os.path.getsize(self.path) > expected
            if too_big:
                os.unlink(self.path)
            else:
                with open(self.path, "rb") as handle:
                    for block in iter(lambda: handle.read(CHUNK_SIZE), b""):
                        self.verifier.update(block)
                        self._keep_head(block)
                        self.size += len(block)
                self.resumed = self.size > 0
        self.handle = open(self.path, "ab")

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.verifier.update(data)
        self._keep_head(data)
        self.size += len(data)

    def _keep_head(self, data: bytes) -> None:
        if self.size < HEAD_BYTES:
            self.head += data[:HEAD_BYTES - self.size]

    def restart(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.size = 0
        self.head = b""
        self.resumed = False
        self.verifier.reset()

    def close(self) -> None:
        if self.handle is not None and not self.handle.closed:
            try:
                self.handle.flush()
                os.fsync(self.handle.fileno())
            finally:
                self.handle.close()

    def remove(self) -> None:
        if self.handle is not None and not self.handle.closed:
            try:
                self.handle.close()
            except OSError:
                pass  # closing flushes, which fails again on a full disk
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# -- one transfer -------------------------------------------------------------------------------
class _Transfer:
    """The requests of one download: Range from the part file's size, progress, cancel."""

    def __init__(self, url: str, target: str, part: _PartFile, credentials: Optional[ScopedCredentials],
                 progress: Optional[Callable[[DownloadProgress], None]],
                 is_cancelled: Optional[Callable[[], bool]], times: Timeouts, chunk_size: int):
        self.url, self.shown, self.target, self.part = url, display_url(url), target, part
        self.credentials, self.progress, self.is_cancelled = credentials, progress, is_cancelled
        self.times, self.chunk_size = times, chunk_size
        self.total = part.verifier.expected_size
        self.server_total: Optional[int] = None  # the file's size as the server tells it
        self.etag: Optional[str] = None
        self.requests = 0
        self.started, self.received = time.monotonic(), 0

    def check_cancelled(self) -> None:
        if self.is_cancelled and self.is_cancelled():
            raise Cancelled()

    def request_headers(self) -> Dict[str, str]:
        headers = {}
        if self.part.size:
            headers["Range"] = f"bytes={self.part.size}-"
            if self.etag:
                headers["If-Range"] = self.etag
        return headers

    def fetch_once(self) -> Optional[ProductOffline]:
        """One request; returns when the whole file is in the part file (or the product is offline)."""
        self.requests += 1
        try:
            response = open_once(self.url, self.request_headers(), self.times, credentials=self.credentials)
        except _NETWORK_ERRORS as error:  # a malformed or missing answer that urllib lets through
            raise _Retry(f"no valid answer ({error or type(error).__name__})") from None
        except HttpError as error:
            if error.status == 416 and self.part.size:
                self.part.restart()  # the part is not a prefix of this file
                raise _Retry("the server refused the byte range; starting again") from None
            if error.retryable:
                raise _Retry(str(error), error.retry_after, status=error.status) from None
            raise
        with response:
            if response.status == 202:
                return offline_result(self.url, self.target, status=202)
            check_content_type(self.shown, self.target, response.headers.get("Content-Type"))
            length = self.accept(response)
            self.copy(response, length)
        return None

    def accept(self, response) -> Optional[int]:
        """Check the answer against the Range asked for; returns the body length."""
        length = response.headers.get("Content-Length")
        length = int(length) if length is not None else None
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range", ""))
            if start != self.part.size:
                self.part.restart()
                raise _Retry(f"the server sent bytes from {start} instead of {self.part.size}; starting again")
            self.server_total = total
            self.total = self.total or total
            self.part.resumed = True
        else:
            if self.part.size:
                LOG.info("%s ignored the byte range; downloading it again from the start", self.shown)
                self.part.restart()
            self.server_total = length
            self.total = self.total or length
        self.etag = response.headers.get("ETag") or self.etag
        return length

    def copy(self, response, length: Optional[int]) -> None:
        received = 0
        watch = StallWatch(self.times.stall)
        while length is None or received < length:
            self.check_cancelled()
            wanted = self.chunk_size if length is None else min(self.chunk_size, length - received)
            chunk = self.read(response, wanted)
            if not chunk:
                break
            self.part.write(chunk)
            check_signature(self.shown, self.target, self.part.head, complete=False)
            received += len(chunk)
            self.received += len(chunk)
            self.report()
            if watch.stalled(len(chunk)):
                raise _Retry(f"{watch.message()} after {self.part.size} bytes", stalled=True)
        if ((length is not None and received < length)
                or (self.server_total is not None and self.part.size < self.server_total)):
            raise _Retry(f"the connection was cut after {self.part.size} bytes")

    def read(self, response, size: int) -> bytes:
        """At most size bytes, as soon as some came (read1): a drip is seen byte by byte."""
        try:
            return getattr(response, "read1", response.read)(size)
        except _NETWORK_ERRORS as error:
            raise _Retry(f"the connection broke after {self.part.size} bytes "
                         f"({error or type(error).__name__})") from None

    def report(self) -> None:
        if self.progress:
            elapsed = max(1e-6, time.monotonic() - self.started)
            self.progress(DownloadProgress(self.part.size, self.total, self.received / elapsed))


def _content_range(value: str):
    """(start, total or None) from 'bytes 100-199/1000'; raises _Retry for anything else."""
    try:
        unit, _, span = value.partition(" ")
        first, _, total = span.partition("/")
        start = int(first.split("-")[0])
        if unit != "bytes":
            raise ValueError(unit)
        return start, (None if total == "*" else int(total))
    except ValueError:
        raise _Retry(f"the server answered a partial download without a valid Content-Range ({value!r})") from None


def _fetch_with_retries(transfer: _Transfer, retries: int, backoff: float) -> Optional[ProductOffline]:
    """fetch_once until the file is complete, under core.net.retry's policy. A try that brought new bytes
    without stalling does not count as a failure and restarts the retry deadline; a stalled one
    counts even when bytes came."""
    token_renewed = False
    state = Retries(transfer.shown, retries, backoff, transfer.times.deadline, transfer.is_cancelled)
    while True:
        transfer.check_cancelled()
        before = transfer.part.size
        state.begin()
        try:
            return transfer.fetch_once()
        except _Retry as problem:
            delay = state.failed(problem.retry_after, progressed=transfer.part.size > before and not problem.stalled)
            if delay is None and not state.by_deadline:
                raise HttpError(f"Downloading {transfer.shown} failed after {retries} retries "
                                f"({state.tried()}): {problem.reason}") from None
            if delay is None:
                raise HttpError(f"Downloading {transfer.shown} failed: {problem.reason}; {state.tried()}"
                                f", and the retry deadline of {state.deadline:g} s has passed"
                                f", or {limits.raise_hint('retry_deadline_s')}.") from None
            state.wait(delay, problem.status, problem.reason)
        except HttpError as error:
            if error.status == 401 and not token_renewed and transfer.credentials is not None:
                transfer.credentials.invalidate()  # a token that expired early: get a new one, once
                token_renewed = True
                continue
            raise


# -- public API ---------------------------------------------------------------------------------
_TARGET_LOCKS: Dict[str, threading.RLock] = {}
_TARGET_LOCKS_GUARD = threading.Lock()


@contextmanager
def download_lock(target: str, is_cancelled: Optional[Callable[[], bool]] = None) -> Iterator[None]:
    """Hold the process-wide lock of one download target (re-entrant); waiting for it can be cancelled.

    Two downloads to one target at once would append to the same part file; the lock makes them take turns.
    """
    with _TARGET_LOCKS_GUARD:
        lock = _TARGET_LOCKS.setdefault(os.path.realpath(target), threading.RLock())
    while not lock.acquire(timeout=0.2):
        if is_cancelled and is_cancelled():
            raise Cancelled()
    try:
        yield
    finally:
        lock.release()


def download(url: str, target: str, *, expected_size: Optional[int] = None,
             checksums: Optional[Dict[str, str]] = None, headers_provider: Optional[HeadersProvider] = None,
             progress: Optional[Callable[[DownloadProgress], None]] = None,
             is_cancelled: Optional[Callable[[], bool]] = None, retries: int = 5, chunk_size: int = CHUNK_SIZE,
             timeout: Optional[float] = DEFAULT_TIMEOUT, backoff: float = 1.0) -> Outcome:
    """Download url to target, resuming, retrying and verifying; returns a DownloadResult.

    checksums: {algorithm: hex} as the catalogue gives them (MD5, SHA256, BLAKE3 when the ``blake3``
    package is installed; otherwise the size is checked and a warning is added to the result).
    headers_provider: credentials, asked before every request for fresh headers: a
    :class:`core.net.http.ScopedCredentials` (sent only to the hosts of its scope), a :class:`CdseToken`
    (only to the CDSE hosts and its token URL's host) or any callable (only to url's own host).
    timeout: the connect and read timeout; None: those of the limits in force.
    A target that already exists and passes the checks is not downloaded again.

    Returns a :class:`ProductOffline` (not an exception) when the hub answers 202 Accepted.
    Raises LabelMigrationError for a wrong checksum or size, content that is not what the target's
    suffix asks for (WrongContent: an HTML page for a .zip) and a full disk (the part file is
    removed), and for HTTP errors that retrying does not cure, timeouts and stalls beyond the retry
    deadline (the part file is kept to resume from only when it holds at least RESUME_MIN_BYTES, and
    the message says so); raises Cancelled on
    cancel, leaving nothing under the target's name but keeping ``<target>.part`` so that the next
    call resumes where this one stopped. Calls for one target in one process take turns (they would
    share its part file): the later call then finds the target complete and skips it.
    """
    with download_lock(target, is_cancelled):
        name = os.path.basename(target)
        verifier = _Verifier(name, checksums, expected_size)
        for warning in verifier.warnings:
            LOG.warning(warning)
        if verifier.file_matches(target):
            return DownloadResult(url, target, os.path.getsize(target), verifier.method, skipped=True,
                                  warnings=verifier.warnings)
        _prepare_folder(target, expected_size)
        part = _PartFile(target + PART_SUFFIX, verifier)
        transfer = _Transfer(url, target, part, scoped(headers_provider, url), progress, is_cancelled,
                             timeouts(timeout), chunk_size)
        try:
            outcome = _download_verified(transfer, retries, backoff)
        except OSError as error:
            written = part.size
            part.remove()
            raise _write_error(target, error, written) from None
        except WrongContent:
            part.remove()
            raise
        except Cancelled:
            if part.size == 0:
                part.remove()
            raise
        except LabelMigrationError as error:
            if part.size < RESUME_MIN_BYTES:
                part.remove()  # keep only a part file worth resuming
                raise
            kept = (f"{error} The {limits.megabytes(part.size)} received are kept in '{part.path}' for the next try "
                    f"to resume.")
            if isinstance(error, HttpError):
                raise HttpError(kept, error.status, error.retry_after) from None
            raise LabelMigrationError(kept) from None
        except BaseException:
            if part.size == 0:
                part.remove()
            raise
        if isinstance(outcome, ProductOffline):
            if part.size == 0:
                part.remove()
            return outcome
        os.replace(part.path, target)
        return DownloadResult(url, target, os.path.getsize(target), verifier.method, resumed=part.resumed,
                              requests=transfer.requests, warnings=verifier.warnings)


def _download_verified(transfer: _Transfer, retries: int, backoff: float) -> Optional[ProductOffline]:
    """Fetch and verify; a resumed file that fails the checks is fetched once more from the start."""
    part = transfer.part
    for second_try in (False, True):
        part.open()
        try:
            outcome = _fetch_with_retries(transfer, retries, backoff)
        finally:
            part.close()
        if outcome is not None:
            return outcome
        check_signature(transfer.shown, transfer.target, part.head)
        problem = part.verifier.mismatch(part.size)
        if problem is None:
            return None
        resumed = part.resumed
        part.remove()
        part.size = 0
        if second_try or not resumed:
            raise LabelMigrationError(problem)
        LOG.warning("%s Downloading it again from the start.", problem)
    return None


def _prepare_folder(target: str, expected_size: Optional[int]) -> None:
    folder = os.path.dirname(os.path.abspath(target))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise LabelMigrationError(f"Cannot create the folder '{folder}' for '{os.path.basename(target)}': "
                                  f"{error.strerror}.") from None
    if expected_size is None:
        return
    have = os.path.getsize(target + PART_SUFFIX) if os.path.exists(target + PART_SUFFIX) else 0
    free = shutil.disk_usage(folder).free
    if expected_size - have > free:
        raise LabelMigrationError(
            f"Not enough free space in '{folder}' for '{os.path.basename(target)}': it needs "
            f"{limits.megabytes(expected_size - have)} and {limits.megabytes(free)} are free. "
            "Free some space or choose another folder.")


def _write_error(target: str, error: OSError, written: int) -> LabelMigrationError:
    folder = os.path.dirname(os.path.abspath(target))
    if error.errno in _DISK_FULL:
        return LabelMigrationError(
            f"The disk holding '{folder}' is full: '{os.path.basename(target)}' stopped after "
            f"{limits.megabytes(written)} and the partial file was removed. Free some space or choose another folder.")
    return LabelMigrationError(f"Cannot write '{target}{PART_SUFFIX}': {error.strerror or error}.")


# -- several downloads --------------------------------------------------------------------------
class _CombinedProgress:
    """Adds up the progress of parallel downloads (thread-safe)."""

    def __init__(self, jobs: Sequence[DownloadJob], progress: Optional[Callable[[DownloadProgress], None]]):
        self.progress = progress
        self.lock = threading.Lock()
        self.done = [0] * len(jobs)
        self.totals = [job.expected_size for job in jobs]
        self.rates = [0.0] * len(jobs)

    def for_job(self, index: int) -> Callable[[DownloadProgress], None]:
        def report(state: DownloadProgress) -> None:
            with self.lock:
                self.done[index], self.rates[index] = state.bytes_done, state.rate_bytes_per_s
                self.totals[index] = state.bytes_total
                if self.progress:
                    self.progress(self.combined())
        return report

    def finished(self, index: int, size: int) -> None:
        with self.lock:
            self.done[index] = self.totals[index] = size
            self.rates[index] = 0.0
            if self.progress:
                self.progress(self.combined())

    def combined(self) -> DownloadProgress:
        total = None if None in self.totals else sum(self.totals)
        return DownloadProgress(sum(self.done), total, sum(self.rates))


def download_many(jobs: Sequence[DownloadJob], max_connections: int = MAX_CONNECTIONS, *,
                  headers_provider: Optional[HeadersProvider] = None,
                  progress: Optional[Callable[[DownloadProgress], None]] = None,
                  is_cancelled: Optional[Callable[[], bool]] = None, retries: int = 5,
                  chunk_size: int = CHUNK_SIZE, timeout: Optional[float] = DEFAULT_TIMEOUT, backoff: float = 1.0,
                  raise_on_error: bool = True) -> List[Union[DownloadResult, ProductOffline, DownloadFailed]]:
    """Run the jobs with at most max_connections (never more than 4) downloads at once.

    Returns one result per job, in order: DownloadResult, ProductOffline or (with
    raise_on_error=False) DownloadFailed. With raise_on_error, a LabelMigrationError naming every
    failed file is raised once all jobs have ended. A cancel stops every download (Cancelled).
    """
    connections = max(1, min(int(max_connections), MAX_CONNECTIONS))
    new_folders = missing_folders(job.target for job in jobs)
    stop = threading.Event()
    combined = _CombinedProgress(jobs, progress)

    def cancelled() -> bool:
        return stop.is_set() or bool(is_cancelled and is_cancelled())

    def run(index: int, job: DownloadJob):
        try:
            outcome = download(job.url, job.target, expected_size=job.expected_size, checksums=job.checksums,
                               headers_provider=job.headers_provider or headers_provider,
                               progress=combined.for_job(index),
                               is_cancelled=cancelled, retries=retries, chunk_size=chunk_size,
                               timeout=timeout, backoff=backoff)
        except Cancelled:
            stop.set()
            raise
        except LabelMigrationError as error:
            return DownloadFailed(job.url, job.target, str(error))
        except BaseException:
            stop.set()
            raise
        if isinstance(outcome, DownloadResult):
            combined.finished(index, outcome.size)
        return outcome

    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="download") as pool:
        futures = [pool.submit(run, index, job) for index, job in enumerate(jobs)]
        outcomes = [_wait(future) for future in futures]
    remove_empty_folders(new_folders)  # made for downloads that failed or were offline
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if errors:
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    failed = [outcome for outcome in outcomes if isinstance(outcome, DownloadFailed)]
    if failed and raise_on_error:
        error = LabelMigrationError(f"{len(failed)} of {len(jobs)} downloads failed:\n"
                                    + "\n".join(f"- {item.message}" for item in failed))
        error.results = outcomes
        raise error
    return outcomes


def _wait(future):
    try:
        return future.result()
    except BaseException as error:  # collected so that every thread has ended before raising
        return error


# -- catalogue helpers --------------------------------------------------------------------------
def offline_result(url: str, target: str, *, status: Optional[int] = None,
                   product: Optional[dict] = None) -> Optional[ProductOffline]:
    """A ProductOffline for a DHuS 202 Accepted answer or an OData product with ``Online: false``;
    None when the product is online."""
    if status == 202:
        return ProductOffline(url, target, f"'{os.path.basename(target)}' is in the long-term archive: the hub "
                                           f"accepted a request to restore it (HTTP 202). Try again later.")
    if product is not None and product.get("Online") is False:
        name = product.get("Name") or os.path.basename(target)
        return ProductOffline(url, target, f"'{name}' is offline (in the long-term archive); order it or try "
                                           f"again later.")
    return None


def odata_checksums(product: dict) -> Dict[str, str]:
    """{algorithm: hex} from an OData product's ``Checksum`` list."""
    return {str(item["Algorithm"]): str(item["Value"]) for item in product.get("Checksum") or []
            if isinstance(item, dict) and item.get("Algorithm") and item.get("Value")}


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


# -- Copernicus Data Space tokens ---------------------------------------------------------------
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


# -- the scenes of a search result (downloadscenes) ---------------------------------------------
Row = Dict[str, object]  # one feature of searchscenes' scene layer: id, title, backend, url, size, checksums, assets
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
        return self.token if is_cdse(_text(row.get("backend"))) else self.basic


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
    raw_title = _text(row.get("title")) or _text(row.get("id"))
    if not raw_title:
        raise LabelMigrationError("A scene of the scene layer has neither a title nor an id; it cannot be named.")
    title = _short(raw_title)  # as shown in messages
    if assets:
        available = _json_field(row, "assets", title) or {}
        missing = [name for name in assets if name not in available]
        if missing:
            raise LabelMigrationError(f"The scene '{title}' has no asset {', '.join(missing)} (it has "
                                      f"{', '.join(sorted(map(_short, available))) or 'none'}).")
        subfolder = _safe(_text(row.get("id")) or raw_title, f"The scene id '{_short(row.get('id') or title)}'", warn)
        return [DownloadJob(href, path_inside(folder, subfolder, _safe(name + _extension(href),
                                                                       f"The asset name '{_short(name)}'", warn)))
                for name, href in ((name, _href(available[name], f"asset '{name}'", title)) for name in assets)
                if href]
    url = _text(row.get("url"))
    if not url:
        raise LabelMigrationError(
            f"The scene '{title}' has no whole-product download; name the assets to download (ASSETS).")
    url = _href(url, "url", title)
    if not url:
        return []  # a local archive: nothing to download
    stem = raw_title[:-5] if raw_title.upper().endswith(".SAFE") else raw_title
    stem = stem[:-4] if stem.lower().endswith(".zip") else stem
    name = _safe(stem, f"The scene title '{title}'", warn, 4) + ".zip"  # .zip: its content is checked
    checksums = _json_field(row, "checksums", title)
    return [DownloadJob(url, path_inside(folder, name), expected_size=_size(row, title), checksums=checksums or None)]


def _text(value) -> str:
    return "" if value is None or str(value) == "NULL" else str(value)


def _short(value, length: int = 80) -> str:
    text = "".join(c if c.isprintable() else "?" for c in _text(value))
    return text if len(text) <= length else text[:length] + "…"


def _safe(name: str, what: str, warn: Callable[[str], None], reserve: int = 0) -> str:
    """safe_file_name(name) (reserve: characters kept free for a suffix), telling warn when the name had to change."""
    safe = safe_file_name(name, max_length=MAX_NAME_LENGTH - reserve)
    if safe != name:
        warn(f"{what} is not a safe file name (a path, '..', control characters or too long); the file is "
             f"named '{safe}' instead.")
    return safe


def _href(value, field_name: str, title: str) -> Optional[str]:
    """An http(s) URL to download, None for a file already on disk, an error for anything else."""
    href = _text(value).strip()
    if href.lower().startswith(_DOWNLOADABLE):
        return href
    if href and "://" not in href and os.path.exists(href):
        return None
    scheme = href.split("://", 1)[0] + "://" if "://" in href else None
    why = (f"a {scheme} address, which cannot be downloaded over HTTP(S)" if scheme
           else "neither a web address nor a file on disk")
    raise LabelMigrationError(f"The scene '{title}' has a {field_name} that is {why} ({href[:120]!r}).")


def _json_field(row: Row, name: str, title: str) -> Optional[Dict[str, str]]:
    """The row's JSON object field name ({text: text}), None when empty; an error naming the scene when malformed."""
    text = _text(row.get(name)).strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise LabelMigrationError(f"The {name} field of the scene '{title}' is not valid JSON "
                                  f"({getattr(error, 'msg', error)}): {_short(text)!r}.") from None
    except RecursionError:
        raise LabelMigrationError(f"The {name} field of the scene '{title}' is nested too deeply to read.") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise LabelMigrationError(f"The {name} field of the scene '{title}' is not a JSON object of texts "
                                  f"(like {{\"MD5\": \"...\"}}): {_short(text)!r}.")
    return value


def _size(row: Row, title: str) -> Optional[int]:
    value = row.get("size")
    if not _text(value):
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = -1
    if size < 0:
        raise LabelMigrationError(f"The scene '{title}' has a size that is not a number of bytes ({value!r}).")
    return size


def _extension(href: str) -> str:
    """'.tif' from an asset's href (letters and digits only, at most 8), else ''."""
    tail = urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1]
    extension = tail.rsplit(".", 1)[1] if "." in tail else ""
    return "." + extension if extension.isalnum() and extension.isascii() and len(extension) <= 8 else ""
