"""Credentials only where they belong: the hosts a set of credentials may go to (CredentialScope) and the
headers that go with them, to those hosts only (ScopedCredentials)."""
import logging
import threading
import urllib.parse
from typing import Callable, Dict, Iterable, Optional, Tuple

LOG = logging.getLogger(__name__)
HeadersProvider = Callable[[], Dict[str, str]]


def origin(url: str) -> Tuple[str, str, int]:
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
        self.origins = {origin(url) for url in urls if url and origin(url)[1]}
        self.domains = tuple(domain.lower().strip(".") for domain in domains if domain)

    def allows(self, url: str) -> bool:
        scheme, host, port = origin(url)
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
