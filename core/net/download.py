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

Credentials go only to the hosts of their scope (:class:`core.net.credentials.ScopedCredentials`); a plain
headers provider is sent only to the download URL's own host, never after a redirect elsewhere.

Only the standard library (plus the optional ``blake3`` package for BLAKE3 checksums).
"""
import errno
import logging
import os
import shutil
import threading
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional

from ..util import limits
from ..util.errors import Cancelled, LabelMigrationError
from .checksums import ChecksumVerifier
from .content_checks import WrongContent, check_signature
from .credentials import HeadersProvider, scoped
from .download_types import DownloadProgress, DownloadResult, Outcome, ProductOffline
from .http import DEFAULT_TIMEOUT, HttpError
from .part_file import PART_SUFFIX, PartFile
from .timeouts import timeouts
from .transfer import Transfer, fetch_with_retries

LOG = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
RESUME_MIN_BYTES = 1 << 20  # a failed download keeps its part file (to resume from) only from this size on
_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


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
        verifier = ChecksumVerifier(name, checksums, expected_size)
        for warning in verifier.warnings:
            LOG.warning(warning)
        if verifier.file_matches(target):
            return DownloadResult(url, target, os.path.getsize(target), verifier.method, skipped=True,
                                  warnings=verifier.warnings)
        _prepare_folder(target, expected_size)
        part = PartFile(target + PART_SUFFIX, verifier)
        transfer = Transfer(url, target, part, scoped(headers_provider, url), progress, is_cancelled,
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


def _download_verified(transfer: Transfer, retries: int, backoff: float) -> Optional[ProductOffline]:
    """Fetch and verify; a resumed file that fails the checks is fetched once more from the start."""
    part = transfer.part
    for second_try in (False, True):
        part.open()
        try:
            outcome = fetch_with_retries(transfer, retries, backoff)
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
