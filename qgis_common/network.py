"""Credentials from QGIS's authentication database and QGIS's proxy settings, for the core's HTTP,
and the core's network log (retries) in the algorithm's log."""
import logging
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple
from urllib.parse import quote

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsProcessingException, QgsSettings

from ..core import net
from .translation import tr

LOG = logging.getLogger(__name__)


def credentials(authcfg: str) -> Optional[Tuple[str, str]]:
    """(user name, password) of a Basic auth configuration; None when no configuration is given.

    The password is only handed to the core in memory: never logged, stored in settings or in
    the project.
    """
    if not authcfg:
        return None
    config = _config(authcfg)
    user, password = config.config("username"), config.config("password")
    if not user:
        raise QgsProcessingException(
            tr("The authentication configuration '{}' has no user name; use a Basic (user name and password) "
               "configuration.").format(authcfg))
    return user, password


def auth_url(authcfg: str) -> Optional[str]:
    """The URL an authentication configuration is for (its 'URL' field), None when it has none.
    Credentials are sent to that server's host (and those of the backend they are for), no other."""
    if not authcfg:
        return None
    url = _config(authcfg).uri().strip()
    return url if url.lower().startswith(("http://", "https://")) else None


def _config(authcfg: str) -> QgsAuthMethodConfig:
    manager = QgsApplication.authManager()
    if manager.isDisabled():
        raise QgsProcessingException(tr("QGIS's authentication system is disabled: {}").format(
            manager.disabledMessage()))
    config = QgsAuthMethodConfig()
    if not manager.loadAuthenticationConfig(authcfg, config, True) or not config.isValid():
        raise QgsProcessingException(
            tr("No usable authentication configuration '{}' (is the master password entered?).").format(authcfg))
    return config


class _FeedbackHandler(logging.Handler):
    def __init__(self, feedback):
        super().__init__(logging.INFO)
        self.feedback = feedback

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.feedback.pushInfo(self.format(record))
        except Exception as error:  # noqa: BLE001 (a log line must never end a run)
            LOG.debug("A network message could not be shown in the algorithm's log: %s", error)


@contextmanager
def network_log(feedback) -> Iterator[None]:
    """Show the core's network messages (every retry, with its reason) in the algorithm's log."""
    handler = _FeedbackHandler(feedback)
    loggers = [logging.getLogger(net.__name__)]  # every core.net module's logger passes its records up to it
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def proxy_url() -> Optional[str]:
    """QGIS's proxy (Settings > Options > Network) as a URL, or None when no proxy is set up."""
    settings = QgsSettings()
    if not settings.value("proxy/proxyEnabled", False, type=bool):
        return None
    host = settings.value("proxy/proxyHost", "", type=str)
    if not host:
        return None
    port = settings.value("proxy/proxyPort", "", type=str)
    user = settings.value("proxy/proxyUser", "", type=str)
    password = settings.value("proxy/proxyPassword", "", type=str)
    login = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
    address = f"{host}:{port}" if port else host
    return f"http://{login}{address}"
