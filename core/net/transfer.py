"""The requests of one download: Range from the part file's size, checks of each answer, progress, cancel,
and the retries under core.net.retry's policy."""
import http.client
import logging
import socket
import time
from typing import Callable, Dict, Optional

from ..util import limits
from ..util.errors import Cancelled
from .content_checks import check_content_type, check_signature
from .credentials import ScopedCredentials
from .download_types import DownloadProgress, ProductOffline, offline_result
from .http import HttpError, display_url, open_once
from .part_file import PartFile
from .retry import Retries
from .timeouts import StallWatch, Timeouts

LOG = logging.getLogger(__name__)
_NETWORK_ERRORS = (socket.timeout, TimeoutError, OSError, http.client.HTTPException)


class _Retry(Exception):
    """A failed attempt worth another one (network trouble, 429/5xx, a cut connection, a stall)."""

    def __init__(self, reason: str, retry_after: Optional[str] = None, stalled: bool = False,
                 status: Optional[int] = None):
        super().__init__(reason)
        self.reason, self.retry_after, self.stalled, self.status = reason, retry_after, stalled, status


class Transfer:
    """The requests of one download: Range from the part file's size, progress, cancel."""

    def __init__(self, url: str, target: str, part: PartFile, credentials: Optional[ScopedCredentials],
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


def fetch_with_retries(transfer: Transfer, retries: int, backoff: float) -> Optional[ProductOffline]:
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
