"""HTTP for catalogue searches, token requests and downloads: timeouts, retries within a deadline,
clear errors, and credentials sent only to the hosts they belong to.

Only the standard library, so it works in any QGIS Python. Messages name the URL without its
query string or credentials, never a password or token.

Timeouts come from the limits in force (:mod:`core.util.limits`): ``connect_timeout_s`` to open a
connection, ``read_timeout_s`` for the answer's headers (all of them: a server that drips its
status line byte by byte is cut off too) and for each read of the body, ``retry_deadline_s`` for
all tries of one request, counted from the first, and ``stall_timeout_s`` for bodies: fewer than
``STALL_MIN_BYTES`` in that time is a stalled transfer. Callers may still pass one ``timeout``,
which is then both the connect and the read timeout.

Retries follow the one policy of :mod:`core.net.retry` (which statuses, how often, Retry-After, the
deadline, the log line, the final message); :mod:`core.net.requests_sessions` puts a requests Session
(that of sentinelsat, for DHuS searches) under the same policy and timeouts. Timeouts, credential
scopes and the connections themselves live in :mod:`core.net.timeouts`, :mod:`core.net.credentials`
and :mod:`core.net.connections`.
"""
import base64
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Dict, List, Optional, Tuple, Union

from ..util import limits
from ..util.errors import LabelMigrationError
from .connections import Watchdog, opener
from .credentials import ScopedCredentials
from .retry import Retries, retryable
from .timeouts import StallWatch, Timeouts, timeouts

USER_AGENT = "LabelMigration-QGIS-plugin"
DEFAULT_TIMEOUT = None  # None: the connect and read timeouts of the limits in force
READ_BLOCK = 1 << 16


class HttpError(LabelMigrationError):
    """A request that failed for good; status is the HTTP status, or None without an answer."""

    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # the server's Retry-After header, when it sent one

    @property
    def retryable(self) -> bool:
        """No answer at all (network, timeout) or a status worth another try (429, 5xx)."""
        return retryable(self.status)


def basic_auth(credentials: Optional[Tuple[str, str]]) -> Dict[str, str]:
    """The HTTP Basic Authorization header for (user, password); no header without credentials."""
    if not credentials:
        return {}
    token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def display_url(url: str) -> str:
    """The URL as shown in messages: no user info, no query string (it may hold tokens)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


# -- one try ---------------------------------------------------------------------------------------
def _send(url: str, headers: Optional[Dict[str, str]], times: Timeouts, method: str = "GET",
          data: Optional[bytes] = None, credentials: Optional[ScopedCredentials] = None):
    """One request: the open response, or HttpError (``retryable`` tells whether to try again)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})},
                                     method=method, data=data)
    if credentials is not None:
        for name, value in credentials.headers_for(url).items():
            request.add_unredirected_header(name, value)
    watchdog = Watchdog(times.read + min(1.0, times.read))
    try:
        response = opener(times, credentials, watchdog).open(request, timeout=times.connect)
    except urllib.error.HTTPError as error:
        if not watchdog.expired:
            raise _http_error(display_url(url), error) from None
        error.close()
        response = None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise HttpError(f"Cannot reach {display_url(url)}: {_no_answer(error, times, watchdog.expired)}") from None
    finally:
        watchdog.cancel()
    if watchdog.expired:  # cut in the middle of the headers: what was parsed is not the answer
        if response is not None:
            response.close()
        raise HttpError(f"Cannot reach {display_url(url)}: {_no_answer(TimeoutError(), times, True)}")
    return response


def _no_answer(error: BaseException, times: Timeouts, cut_by_watchdog: bool) -> str:
    """What happened when no answer came, in words."""
    reason = getattr(error, "reason", error) if isinstance(error, urllib.error.URLError) else error
    connecting = isinstance(error, urllib.error.URLError)  # urllib wraps errors of the connect and send
    connect, read = times.named()
    if cut_by_watchdog:
        return (f"it did not send a complete answer within {seconds_text(read)} s (read timeout"
                f", or {limits.raise_hint('read_timeout_s')})")
    if isinstance(reason, (socket.timeout, TimeoutError)):
        if connecting:
            return (f"it did not accept a connection within {seconds_text(connect)} s (connection timeout"
                    f", or {limits.raise_hint('connect_timeout_s')})")
        return (f"it accepted the connection but sent no answer within {seconds_text(read)} s (read timeout"
                f", or {limits.raise_hint('read_timeout_s')})")
    if isinstance(reason, ConnectionRefusedError):
        return "it refused the connection (nothing answers at that address)"
    if isinstance(reason, socket.gaierror):
        return "the host name is unknown (check the URL and the network)"
    if isinstance(reason, ssl.SSLError):
        return f"the secure connection failed ({getattr(reason, 'reason', None) or reason})"
    if isinstance(reason, (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError)):
        return "it closed the connection without answering"
    return f"{reason or type(reason).__name__}"


def seconds_text(value: float) -> str:
    return f"{value:g}" if value == round(value, 1) else f"{value:.1f}"


def _http_error(shown: str, error: urllib.error.HTTPError) -> HttpError:
    retry_after = error.headers.get("Retry-After") if error.headers is not None else None
    message = status_text(shown, error.code, error.reason)
    error.close()
    return HttpError(message, error.code, retry_after)


def status_text(shown: str, status: int, reason: str = "") -> str:
    """What an HTTP error status means, for a person, naming the URL."""
    if status == 401:
        message = f"{shown} refused the credentials (HTTP 401 Unauthorized): check the user name and password."
    elif status == 403:
        message = f"{shown} denied access (HTTP 403 Forbidden): the account may lack the right to this data."
    elif status == 404:
        message = f"{shown} was not found (HTTP 404): check the URL."
    elif status == 429:
        message = f"{shown} keeps answering 'too many requests' (HTTP 429); try again later."
    else:
        message = f"{shown} answered HTTP {status}{' ' + reason if reason else ''}."
    return message


# -- retries (the policy lives in core.net.retry) -------------------------------------------------------
def _with_retries(url: str, attempt: Callable[[Timeouts], object], timeout: Optional[float], retries: int,
                  backoff: float, is_cancelled: Optional[Callable[[], bool]]):
    """attempt(timeouts) until it returns, retrying a retryable HttpError under core.net.retry's policy:
    at most retries times, never beyond the retry deadline (counted from the first try), every
    retry logged."""
    times = timeouts(timeout)
    state = Retries(display_url(url), retries, backoff, times.deadline, is_cancelled)
    while True:
        state.begin()
        try:
            return attempt(times.within(state.time_left()))
        except HttpError as error:
            if not error.retryable:
                raise
            delay = state.failed(error.retry_after)
            if delay is None:
                raise HttpError(state.gave_up(str(error), error.status), error.status, error.retry_after) from None
            state.wait(delay, error.status, str(error))


# -- the public calls ------------------------------------------------------------------------------
def open_url(url: str, headers: Optional[Dict[str, str]] = None, timeout: Optional[float] = DEFAULT_TIMEOUT,
             retries: int = 3, is_cancelled: Optional[Callable[[], bool]] = None, method: str = "GET",
             data: Optional[bytes] = None, backoff: float = 1.0, credentials: Optional[ScopedCredentials] = None):
    """An open response (a context manager) for url, retrying 429/5xx, timeouts and dropped
    connections within the retry deadline.

    Raises HttpError with a message for a person: the URL, what happened, how often it was tried.
    """
    return _with_retries(url, lambda times: _send(url, headers, times, method, data, credentials),
                         timeout, retries, backoff, is_cancelled)


def open_once(url: str, headers: Optional[Dict[str, str]] = None,
              timeout: Union[float, Timeouts, None] = DEFAULT_TIMEOUT, method: str = "GET",
              data: Optional[bytes] = None, credentials: Optional[ScopedCredentials] = None):
    """One request without retries, for callers that run their own retry loop (downloads).

    Raises HttpError: with the status and the server's Retry-After for an HTTP error, with status
    None when there was no answer (``error.retryable`` tells whether another try makes sense).
    """
    times = timeout if isinstance(timeout, Timeouts) else timeouts(timeout)
    return _send(url, headers, times, method, data, credentials)


def read_body(response, shown: str, times: Timeouts, max_bytes: Optional[float] = None) -> bytes:
    """The whole body of a (small) answer, refusing one that stalls, outlasts the time left for the
    request or exceeds max_bytes (raises HttpError, retryable for the first two)."""
    length = response.headers.get("Content-Length")
    if max_bytes is not None and length and length.isdigit():
        limits.check_metadata_size(int(length), f"The answer of {shown}")
    read = getattr(response, "read1", response.read)
    watch = StallWatch(times.stall)
    chunks: List[bytes] = []
    size = 0
    while True:
        try:
            chunk = read(READ_BLOCK)
        except (OSError, http.client.HTTPException) as error:
            raise HttpError(f"Cannot reach {shown}: the answer broke off after {size} bytes "
                            f"({_no_answer(error, times, False)})") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            limits.check_metadata_size(size, f"The answer of {shown}")
        if watch.stalled(len(chunk)):
            raise HttpError(f"Cannot reach {shown}: {watch.message()}")
        if time.monotonic() > times.ends:
            raise HttpError(f"Cannot reach {shown}: it sent its answer too slowly (not complete within the retry "
                            f"deadline of {times.deadline:g} s, or {limits.raise_hint('retry_deadline_s')})")
    if length and length.isdigit() and size < int(length):
        raise HttpError(f"Cannot reach {shown}: the answer broke off after {size} of {length} bytes")
    return b"".join(chunks)


def _fetch(url: str, headers: Dict[str, str], times: Timeouts, method: str, data: Optional[bytes],
           credentials: Optional[ScopedCredentials]) -> Tuple[bytes, str]:
    """One try of a small request: (body, content type)."""
    with _send(url, headers, times, method, data, credentials) as response:
        body = read_body(response, display_url(url), times, limits.current().max_metadata_mb * 1e6)
        return body, response.headers.get("Content-Type", "")


def get_bytes(url: str, params: Optional[Dict[str, object]] = None, headers: Optional[Dict[str, str]] = None,
              timeout: Optional[float] = DEFAULT_TIMEOUT, retries: int = 3,
              is_cancelled: Optional[Callable[[], bool]] = None, backoff: float = 1.0,
              credentials: Optional[ScopedCredentials] = None, method: str = "GET",
              body: Optional[object] = None) -> Tuple[bytes, str, str]:
    """A small answer (a catalogue page): GET url with params encoded into its query, or send body
    as JSON; retried within the retry deadline. Returns (body, content type, the URL asked)."""
    if params:
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        url = url + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    request_headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request_headers["Content-Type"] = "application/json"
    answer, content_type = _with_retries(
        url, lambda times: _fetch(url, request_headers, times, method, data, credentials),
        timeout, retries, backoff, is_cancelled)
    return answer, content_type, url


def get_json(url: str, params: Optional[Dict[str, object]] = None, headers: Optional[Dict[str, str]] = None,
             timeout: Optional[float] = DEFAULT_TIMEOUT, retries: int = 3,
             is_cancelled: Optional[Callable[[], bool]] = None, backoff: float = 1.0,
             credentials: Optional[ScopedCredentials] = None):
    """GET url (with params encoded into its query) and decode the JSON answer.

    An HTML page (a portal's error or login page) instead of JSON is a clear error, not a parse trace.
    """
    answer, content_type, url = get_bytes(url, params, headers, timeout, retries, is_cancelled, backoff,
                                          credentials)
    return decode_json(answer, content_type, url)


def decode_json(answer: bytes, content_type: str, url: str):
    try:
        return json.loads(answer)
    except (ValueError, RecursionError):
        kind = "an HTML page" if b"<html" in answer[:2048].lower() or "html" in content_type else "no JSON"
        raise HttpError(
            f"{display_url(url)} answered with {kind} instead of JSON; is this the right address for the service?"
        ) from None


def post_form(url: str, fields: Dict[str, str], timeout: Optional[float] = DEFAULT_TIMEOUT, retries: int = 3,
              is_cancelled: Optional[Callable[[], bool]] = None, backoff: float = 1.0):
    """POST fields as an HTML form (an OAuth token request) and decode the JSON answer.

    The form (which may hold a password) never appears in messages.
    """
    data = urllib.parse.urlencode(fields).encode("ascii")
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    answer, content_type = _with_retries(url, lambda times: _fetch(url, headers, times, "POST", data, None),
                                         timeout, retries, backoff, is_cancelled)
    return decode_json(answer, content_type, url)
