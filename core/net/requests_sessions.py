"""requests sessions (sentinelsat's, for DHuS searches) under core.net.retry's policy and the timeouts in force.

requests is imported only when used (it comes with sentinelsat); the rest of core.net needs only the
standard library.
"""
import http.client
import socket
import ssl
from typing import Callable, Optional

from ..util import limits
from .http import DEFAULT_TIMEOUT, HttpError, display_url, seconds_text, status_text
from .retry import RETRY_STATUSES, Retries
from .timeouts import Timeouts, timeouts


def retry_requests(session, retries: int = 3, backoff: float = 1.0, timeout: Optional[float] = DEFAULT_TIMEOUT,
                   is_cancelled: Optional[Callable[[], bool]] = None):
    """Mount on a requests Session (sentinelsat's) an adapter that retries every request under
    core.net.retry's policy (the statuses of RETRY_STATUSES, refused, reset or cut connections and
    timeouts; Retry-After; the count; the retry deadline; every retry logged), and gives each try
    the connect and read timeouts in force when the caller gives none (sentinelsat's own timeout
    never reaches requests). A request that gives up raises HttpError naming the URL (without its
    query), the status or what happened, and how often it was tried. Returns the session.
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
        return (f"it did not accept a connection within {seconds_text(connect)} s (connection timeout"
                f", or {limits.raise_hint('connect_timeout_s')})")
    if isinstance(error, requests.exceptions.Timeout):
        return (f"it accepted the connection but sent no answer within {seconds_text(read)} s (read timeout"
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
