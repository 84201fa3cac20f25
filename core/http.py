"""HTTP for catalogue searches and downloads: clear errors, retries that honour Retry-After.

Only the standard library, so it works in any QGIS Python. Messages name the URL without its
query string or credentials, never a password or token.
"""
import base64
import email.utils
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional, Tuple

from .errors import Cancelled, LabelMigrationError

USER_AGENT = "LabelMigration-QGIS-plugin"
RETRY_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_TIMEOUT = 60.0
MAX_RETRY_WAIT = 120.0


_proxy: Optional[str] = None  # set by use_proxy() for the duration of a job


@contextmanager
def use_proxy(proxy_url: Optional[str]) -> Iterator[None]:
    """Send this job's requests (every thread) through proxy_url, e.g. QGIS's proxy setting.

    Without one, urllib's default applies: the http_proxy / https_proxy environment variables.
    """
    global _proxy
    previous, _proxy = _proxy, proxy_url or None
    try:
        yield
    finally:
        _proxy = previous


def current_proxy() -> Optional[str]:
    return _proxy


def _urlopen(request: urllib.request.Request, timeout: float):
    if _proxy:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": _proxy, "https": _proxy}))
        return opener.open(request, timeout=timeout)
    return urllib.request.urlopen(request, timeout=timeout)


class HttpError(LabelMigrationError):
    """A request that failed for good; status is the HTTP status, or None without an answer."""

    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[str] = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # the server's Retry-After header, when it sent one

    @property
    def retryable(self) -> bool:
        """No answer at all (network, timeout) or a status worth another try (429, 5xx)."""
        return self.status is None or self.status in RETRY_STATUSES


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


def retry_delay(attempt: int, retry_after: Optional[str], base: float = 1.0) -> float:
    """Seconds to wait before retry number attempt (1, 2, ...): Retry-After when the server sent
    one (seconds or an HTTP date), else exponential backoff."""
    if retry_after:
        try:
            return min(MAX_RETRY_WAIT, max(0.0, float(retry_after)))
        except ValueError:
            moment = email.utils.parsedate_to_datetime(retry_after)
            if moment is not None:
                return min(MAX_RETRY_WAIT, max(0.0, moment.timestamp() - time.time()))
    return min(MAX_RETRY_WAIT, base * 2 ** (attempt - 1))


def sleep_cancellable(seconds: float, is_cancelled: Optional[Callable[[], bool]] = None) -> None:
    """Wait seconds, checking is_cancelled every 0.1 s (raises Cancelled)."""
    _sleep(seconds, is_cancelled)


def _sleep(seconds: float, is_cancelled: Optional[Callable[[], bool]]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_cancelled and is_cancelled():
            raise Cancelled()
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def open_url(url: str, headers: Optional[Dict[str, str]] = None, timeout: float = DEFAULT_TIMEOUT,
             retries: int = 3, is_cancelled: Optional[Callable[[], bool]] = None, method: str = "GET",
             data: Optional[bytes] = None, backoff: float = 1.0):
    """An open response (a context manager) for url, retrying 429/5xx and dropped connections.

    Raises HttpError with a message for a person: the URL, the status and what it means.
    """
    request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    shown = display_url(url)
    attempt = 0
    while True:
        attempt += 1
        if is_cancelled and is_cancelled():
            raise Cancelled()
        request = urllib.request.Request(url, headers=request_headers, method=method, data=data)
        try:
            return _urlopen(request, timeout)
        except urllib.error.HTTPError as error:
            if error.code in RETRY_STATUSES and attempt <= retries:
                retry_after = error.headers.get("Retry-After")
                error.close()
                _sleep(retry_delay(attempt, retry_after, backoff), is_cancelled)
                continue
            raise _http_error(shown, error) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as error:
            if attempt <= retries:
                _sleep(retry_delay(attempt, None, backoff), is_cancelled)
                continue
            reason = getattr(error, "reason", error)
            raise HttpError(f"Cannot reach {shown}: {reason}. Check the URL and your network or proxy.") from None


def _http_error(shown: str, error: urllib.error.HTTPError) -> HttpError:
    status = error.code
    if status == 401:
        message = f"{shown} refused the credentials (HTTP 401 Unauthorized): check the user name and password."
    elif status == 403:
        message = f"{shown} denied access (HTTP 403 Forbidden): the account may lack the right to this data."
    elif status == 404:
        message = f"{shown} was not found (HTTP 404): check the URL."
    elif status == 429:
        message = f"{shown} keeps answering 'too many requests' (HTTP 429); try again later."
    else:
        message = f"{shown} answered HTTP {status} {error.reason}."
    retry_after = error.headers.get("Retry-After") if error.headers is not None else None
    error.close()
    return HttpError(message, status, retry_after)


def get_json(url: str, params: Optional[Dict[str, str]] = None, headers: Optional[Dict[str, str]] = None,
             timeout: float = DEFAULT_TIMEOUT, retries: int = 3,
             is_cancelled: Optional[Callable[[], bool]] = None, backoff: float = 1.0):
    """GET url (with params encoded into its query) and decode the JSON answer.

    An HTML page (a portal's error or login page) instead of JSON is a clear error, not a parse trace.
    """
    if params:
        separator = "&" if urllib.parse.urlsplit(url).query else "?"
        url = url + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    with open_url(url, {"Accept": "application/json", **(headers or {})}, timeout, retries, is_cancelled,
                  backoff=backoff) as response:
        body = response.read()
        content_type = response.headers.get("Content-Type", "")
    try:
        return json.loads(body)
    except ValueError:
        kind = "an HTML page" if b"<html" in body[:2048].lower() or "html" in content_type else "no JSON"
        raise HttpError(
            f"{display_url(url)} answered with {kind} instead of JSON; is this the right address for the service?"
        ) from None


def open_once(url: str, headers: Optional[Dict[str, str]] = None, timeout: float = DEFAULT_TIMEOUT,
              method: str = "GET", data: Optional[bytes] = None):
    """One request without retries, for callers that run their own retry loop (downloads).

    Raises HttpError: with the status and the server's Retry-After for an HTTP error, with status
    None when there was no answer (``error.retryable`` tells whether another try makes sense).
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})},
                                     method=method, data=data)
    try:
        return _urlopen(request, timeout)
    except urllib.error.HTTPError as error:
        raise _http_error(display_url(url), error) from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise HttpError(f"Cannot reach {display_url(url)}: {reason}. Check the URL and your network or proxy.") from None


def post_form(url: str, fields: Dict[str, str], timeout: float = DEFAULT_TIMEOUT, retries: int = 3,
              is_cancelled: Optional[Callable[[], bool]] = None, backoff: float = 1.0):
    """POST fields as an HTML form (an OAuth token request) and decode the JSON answer.

    The form (which may hold a password) never appears in messages.
    """
    body = urllib.parse.urlencode(fields).encode("ascii")
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    with open_url(url, headers, timeout, retries, is_cancelled, method="POST", data=body,
                  backoff=backoff) as response:
        answer = response.read()
    try:
        return json.loads(answer)
    except ValueError:
        raise HttpError(f"{display_url(url)} answered with no JSON; is this the right address for the service?") from None
