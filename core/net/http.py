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
deadline, the log line, the final message); :func:`retry_requests` puts a requests Session (that
of sentinelsat, for DHuS searches) under the same policy and timeouts.
"""
import base64
import functools
import http.client
import json
import logging
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable, ContextManager, Dict, Iterable, List, Optional, Tuple, Union

from ..util import limits
from ..util.errors import LabelMigrationError
from ..util.job_setting import JobSetting
from .retry import (MAX_RETRY_WAIT, RETRY_STATUSES, Retries, retry_after_seconds, retry_delay,  # noqa: F401 (API)
                    retryable, sleep_cancellable, tries_text)

LOG = logging.getLogger(__name__)

USER_AGENT = "LabelMigration-QGIS-plugin"
DEFAULT_TIMEOUT = None  # None: the connect and read timeouts of the limits in force
READ_BLOCK = 1 << 16
HeadersProvider = Callable[[], Dict[str, str]]
_CREDENTIAL_HEADERS = ("authorization", "cookie")  # never carried to another host by a redirect


_PROXY: JobSetting[Optional[str]] = JobSetting(None)


def use_proxy(proxy_url: Optional[str]) -> ContextManager[Optional[str]]:
    """Send this job's requests (every thread) through proxy_url, e.g. QGIS's proxy setting.

    Without one, urllib's default applies: the http_proxy / https_proxy environment variables.
    """
    return _PROXY.using(proxy_url or None)


def current_proxy() -> Optional[str]:
    return _PROXY.current()


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


# -- timeouts -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timeouts:
    connect: float
    read: float
    deadline: float  # all tries of one request end this long after the first began
    stall: float
    ends: float = float("inf")  # time.monotonic() when the current request's deadline passes
    configured: Optional[Tuple[float, float]] = None  # (connect, read) before within() shortened them

    def within(self, remaining: float) -> "Timeouts":
        """These timeouts, none longer than the time left before the deadline (at least 0.1 s)."""
        left = max(0.1, remaining)
        return Timeouts(min(self.connect, left), min(self.read, left), self.deadline, self.stall,
                        time.monotonic() + left, self.configured or (self.connect, self.read))

    def named(self) -> Tuple[float, float]:
        """(connect, read) as the settings (or the caller) give them, for messages."""
        return self.configured or (self.connect, self.read)


def timeouts(timeout: Optional[float] = None) -> Timeouts:
    """The timeouts in force; an explicit timeout (a caller's) is both the connect and read timeout."""
    now = limits.current()
    connect, read = (now.connect_timeout_s, now.read_timeout_s) if timeout is None else (timeout, timeout)
    return Timeouts(float(connect), float(read), float(now.retry_deadline_s), float(now.stall_timeout_s))


class StallWatch:
    """Tells a stalled transfer: one that brought fewer than min_bytes in the last `seconds`."""

    def __init__(self, seconds: float, min_bytes: int = limits.STALL_MIN_BYTES,
                 clock: Callable[[], float] = time.monotonic):
        self.seconds, self.min_bytes, self.clock = seconds, min_bytes, clock
        self.start, self.bytes = clock(), 0

    def stalled(self, received: int) -> bool:
        """Count received bytes; True when a window of `seconds` ended with too few bytes."""
        self.bytes += received
        now = self.clock()
        if now - self.start < self.seconds:
            return False
        too_few = self.bytes < self.min_bytes
        self.start, self.bytes = now, 0
        return too_few

    def message(self) -> str:
        return (f"the transfer stalled (fewer than {self.min_bytes // 1024} KiB in {self.seconds:g} s"
                f", or {limits.raise_hint('stall_timeout_s')})")


# -- credentials only where they belong ----------------------------------------------------------
def _origin(url: str) -> Tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port or {"https": 443, "http": 80}.get(scheme, 0)
    except ValueError:
        port = 0
    return scheme, (parts.hostname or "").lower(), port


class CredentialScope:
    """The hosts one set of credentials may be sent to: those of the given URLs (same host and
    port; never over http when the URL says https) and, over https, the hosts of the given domains
    and their subdomains."""

    def __init__(self, urls: Iterable[Optional[str]] = (), domains: Iterable[str] = ()):
        self.origins = {_origin(url) for url in urls if url and _origin(url)[1]}
        self.domains = tuple(domain.lower().strip(".") for domain in domains if domain)

    def allows(self, url: str) -> bool:
        scheme, host, port = _origin(url)
        if not host:
            return False
        for allowed_scheme, allowed_host, allowed_port in self.origins:
            if host == allowed_host and port == allowed_port and (scheme == "https" or allowed_scheme != "https"):
                return True
        return scheme == "https" and any(host == d or host.endswith("." + d) for d in self.domains)

    def describe(self) -> str:
        hosts = sorted(f"{host}:{port}" if port not in (80, 443) else host for _s, host, port in self.origins)
        return ", ".join([f"*.{domain}" for domain in self.domains] + hosts) or "no host"


class ScopedCredentials:
    """Credential headers (a provider's: Basic auth, a bearer token) for the URLs its scope allows.

    Any other URL gets none, and warn says so once per host (default: the log). Thread-safe.
    """

    def __init__(self, provider: HeadersProvider, scope: CredentialScope,
                 warn: Optional[Callable[[str], None]] = None, what: str = "the credentials", advice: str = ""):
        self.provider, self.scope, self.what, self.advice = provider, scope, what, advice
        self.warn = warn or LOG.warning
        self._warned: set = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ScopedCredentials(scope={self.scope.describe()!r})"

    def headers_for(self, url: str) -> Dict[str, str]:
        if self.scope.allows(url):
            return dict(self.provider())
        host = urllib.parse.urlsplit(url).netloc.rpartition("@")[2] or url
        with self._lock:
            first = host not in self._warned
            self._warned.add(host)
        if first:
            self.warn(f"{host} got no credentials ({self.what}): {self._where()}. The request to {host} goes "
                      f"without them." + (f" {self.advice}" if self.advice else ""))
        return {}

    def _where(self) -> str:
        if not (self.scope.origins or self.scope.domains):
            return "no server was named for them"
        return f"they are sent only to the hosts of the service they were configured for ({self.scope.describe()})"

    def invalidate(self) -> None:
        """Forget a cached token (the server refused it), when the provider keeps one."""
        if hasattr(self.provider, "invalidate"):
            self.provider.invalidate()


def scoped(provider, url: str) -> Optional[ScopedCredentials]:
    """provider as ScopedCredentials: as it is when it already is one; a provider with a ``scope``
    (a CdseToken) within that scope; any other callable only for url's own host (the caller named
    it), so that a redirect to another host never carries the credentials."""
    if provider is None or isinstance(provider, ScopedCredentials):
        return provider
    scope = getattr(provider, "scope", None)
    return ScopedCredentials(provider, scope if isinstance(scope, CredentialScope) else CredentialScope([url]),
                             what=getattr(provider, "what", "the credentials"))


# -- connections with a connect timeout, a read timeout and a deadline for the answer's headers ---
class _Watchdog:
    """Cuts a connection whose answer headers have not all come within `seconds` of connecting
    (a socket timeout alone is reset by every byte of a drip). It is given a little longer than
    the read timeout, so that a silent server is told by the socket timeout."""

    def __init__(self, seconds: float):
        self.seconds, self.expired = seconds, False
        self._timer: Optional[threading.Timer] = None
        self._lock = threading.Lock()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()  # a redirect: a new connection, a new wait
            self._timer = threading.Timer(self.seconds, self._expire, (sock,))
            self._timer.daemon = True
            self._timer.start()

    def _expire(self, sock: socket.socket) -> None:
        with self._lock:
            self.expired = True
        try:  # on the OS socket: an SSL socket must not be touched from this thread
            raw = socket.socket(fileno=sock.fileno())
            try:
                raw.shutdown(socket.SHUT_RDWR)
            finally:
                raw.detach()
        except (OSError, ValueError):
            pass  # already closed

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


class _Timed:
    """Mixed into http.client connections: the connect timeout while connecting, then the read timeout."""

    def __init__(self, *args, read_timeout: Optional[float] = None, watchdog: Optional[_Watchdog] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._read_timeout, self._watchdog = read_timeout, watchdog

    def connect(self):
        super().connect()
        self.sock.settimeout(self._read_timeout)
        if self._watchdog is not None:
            self._watchdog.watch(self.sock)


class _HTTPConnection(_Timed, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Timed, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float, watchdog: _Watchdog):
        super().__init__()
        self.connection = functools.partial(_HTTPConnection, read_timeout=read_timeout, watchdog=watchdog)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float, watchdog: _Watchdog):
        super().__init__()
        self.connection = functools.partial(_HTTPSConnection, read_timeout=read_timeout, watchdog=watchdog)

    def https_open(self, req):
        return self.do_open(self.connection, req, context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects without carrying credentials to another host; the scope decides anew."""

    def __init__(self, credentials: Optional[ScopedCredentials]):
        super().__init__()
        self.credentials = credentials

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        if _origin(new.full_url) != _origin(req.full_url):
            for name in list(new.headers):
                if name.lower() in _CREDENTIAL_HEADERS:
                    del new.headers[name]
        if self.credentials is not None:
            for name, value in self.credentials.headers_for(new.full_url).items():
                new.add_unredirected_header(name, value)
        return new


# -- one try ---------------------------------------------------------------------------------------
def _send(url: str, headers: Optional[Dict[str, str]], times: Timeouts, method: str = "GET",
          data: Optional[bytes] = None, credentials: Optional[ScopedCredentials] = None):
    """One request: the open response, or HttpError (``retryable`` tells whether to try again)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})},
                                     method=method, data=data)
    if credentials is not None:
        for name, value in credentials.headers_for(url).items():
            request.add_unredirected_header(name, value)
    watchdog = _Watchdog(times.read + min(1.0, times.read))
    handlers = [_HTTPHandler(times.read, watchdog), _HTTPSHandler(times.read, watchdog), _RedirectHandler(credentials)]
    proxy = current_proxy()
    if proxy:
        handlers.insert(0, urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    try:
        response = urllib.request.build_opener(*handlers).open(request, timeout=times.connect)
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
        return (f"it did not send a complete answer within {_seconds(read)} s (read timeout"
                f", or {limits.raise_hint('read_timeout_s')})")
    if isinstance(reason, (socket.timeout, TimeoutError)):
        if connecting:
            return (f"it did not accept a connection within {_seconds(connect)} s (connection timeout"
                    f", or {limits.raise_hint('connect_timeout_s')})")
        return (f"it accepted the connection but sent no answer within {_seconds(read)} s (read timeout"
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


def _seconds(value: float) -> str:
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


# -- requests sessions (sentinelsat) under the same policy ---------------------------------------
def retry_requests(session, retries: int = 3, backoff: float = 1.0, timeout: Optional[float] = DEFAULT_TIMEOUT,
                   is_cancelled: Optional[Callable[[], bool]] = None):
    """Mount on a requests Session (sentinelsat's) an adapter that retries every request under
    core.net.retry's policy (the statuses of RETRY_STATUSES, refused, reset or cut connections and
    timeouts; Retry-After; the count; the retry deadline; every retry logged), and gives each try
    the connect and read timeouts in force when the caller gives none (sentinelsat's own timeout
    never reaches requests). A request that gives up raises HttpError naming the URL (without its
    query), the status or what happened, and how often it was tried. Returns the session.

    requests is imported only here (it comes with sentinelsat); core.net.http itself needs only the
    standard library.
    """
    import requests
    from requests.adapters import HTTPAdapter

    configured = _single(timeout)  # the caller's single timeout, else the limits in force
    network_errors = (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                      requests.exceptions.ChunkedEncodingError)

    class RetryingAdapter(HTTPAdapter):
        def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
            times = timeouts(configured)
            asked = timeout if timeout is not None else (times.connect, times.read)
            shown = display_url(request.url)
            state = Retries(shown, retries, backoff, times.deadline, is_cancelled)
            while True:
                state.begin()
                status = retry_after = None
                try:
                    response = super().send(request, stream=stream, timeout=_clipped(asked, state.time_left()),
                                            verify=verify, cert=cert, proxies=proxies)
                    if response.status_code in RETRY_STATUSES:
                        status, retry_after = response.status_code, response.headers.get("Retry-After")
                        text = status_text(shown, status, response.reason or "")
                        response.close()
                    else:
                        if not stream:
                            response.content  # noqa: B018 (read here: a body cut off is retried too)
                        return response
                except network_errors as error:
                    text = f"Cannot reach {shown}: {_requests_reason(error, times)}"
                delay = state.failed(retry_after)
                if delay is None:
                    raise HttpError(state.gave_up(text, status), status, retry_after)
                state.wait(delay, status, text)

    adapter = RetryingAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _single(timeout):
    return timeout if isinstance(timeout, (int, float)) else None


def _clipped(timeout, left: float):
    """A requests timeout (one number or (connect, read)) none of whose parts outlasts left seconds."""
    left = max(0.1, left)
    if isinstance(timeout, tuple):
        return tuple(None if part is None else min(part, left) for part in timeout)
    return left if timeout is None else min(timeout, left)


def _requests_reason(error: BaseException, times: Timeouts) -> str:
    """What happened when requests got no (complete) answer, in the words of _no_answer."""
    import requests

    connect, read = times.named()
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return (f"it did not accept a connection within {_seconds(connect)} s (connection timeout"
                f", or {limits.raise_hint('connect_timeout_s')})")
    if isinstance(error, requests.exceptions.Timeout):
        return (f"it accepted the connection but sent no answer within {_seconds(read)} s (read timeout"
                f", or {limits.raise_hint('read_timeout_s')})")
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the answer broke off"
    causes, seen = [error], set()
    while causes:
        cause = causes.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "it refused the connection (nothing answers at that address)"
        if isinstance(cause, (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError)):
            return "it closed the connection without answering"
        if isinstance(cause, socket.gaierror):
            return "the host name is unknown (check the URL and the network)"
        if isinstance(cause, ssl.SSLError):
            return f"the secure connection failed ({getattr(cause, 'reason', None) or cause})"
        causes.extend([getattr(cause, "reason", None), cause.__cause__, cause.__context__,
                       *[arg for arg in getattr(cause, "args", ()) if isinstance(arg, BaseException)]])
    return type(error).__name__
