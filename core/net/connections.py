"""urllib openers for one request: the connect timeout while connecting, then the read timeout, a watchdog for
the answer's headers, the job's proxy, and redirects that never carry credentials to another host."""
import functools
import http.client
import socket
import threading
import urllib.request
from typing import ContextManager, List, Optional

from ..util.job_setting import JobSetting
from .credentials import ScopedCredentials, origin
from .timeouts import Timeouts

_CREDENTIAL_HEADERS = ("authorization", "cookie")  # never carried to another host by a redirect
_PROXY: JobSetting[Optional[str]] = JobSetting(None)


def use_proxy(proxy_url: Optional[str]) -> ContextManager[Optional[str]]:
    """Send this job's requests (every thread) through proxy_url, e.g. QGIS's proxy setting.

    Without one, urllib's default applies: the http_proxy / https_proxy environment variables.
    """
    return _PROXY.using(proxy_url or None)


def current_proxy() -> Optional[str]:
    return _PROXY.current()


class Watchdog:
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

    def __init__(self, *args, read_timeout: Optional[float] = None, watchdog: Optional[Watchdog] = None, **kwargs):
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
    def __init__(self, read_timeout: float, watchdog: Watchdog):
        super().__init__()
        self.connection = functools.partial(_HTTPConnection, read_timeout=read_timeout, watchdog=watchdog)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float, watchdog: Watchdog):
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
        if origin(new.full_url) != origin(req.full_url):
            for name in list(new.headers):
                if name.lower() in _CREDENTIAL_HEADERS:
                    del new.headers[name]
        if self.credentials is not None:
            for name, value in self.credentials.headers_for(new.full_url).items():
                new.add_unredirected_header(name, value)
        return new


def opener(times: Timeouts, credentials: Optional[ScopedCredentials], watchdog: Watchdog):
    """An opener with the timeouts of times, watched by watchdog, through the job's proxy when it has one."""
    handlers: List[urllib.request.BaseHandler] = [_HTTPHandler(times.read, watchdog),
                                                  _HTTPSHandler(times.read, watchdog), _RedirectHandler(credentials)]
    proxy = current_proxy()
    if proxy:
        handlers.insert(0, urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    return urllib.request.build_opener(*handlers)
