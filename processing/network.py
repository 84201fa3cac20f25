"""Credentials from QGIS's authentication database and QGIS's proxy settings, for the core's HTTP."""
from typing import Optional, Tuple
from urllib.parse import quote

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsProcessingException, QgsSettings

from .algorithm import tr


def credentials(authcfg: str) -> Optional[Tuple[str, str]]:
    """(user name, password) of a Basic auth configuration; None when no configuration is given.

    The password is only handed to the core in memory: never logged, stored in settings or in
    the project.
    """
    if not authcfg:
        return None
    manager = QgsApplication.authManager()
    if manager.isDisabled():
        raise QgsProcessingException(tr("QGIS's authentication system is disabled: {}").format(
            manager.disabledMessage()))
    config = QgsAuthMethodConfig()
    if not manager.loadAuthenticationConfig(authcfg, config, True) or not config.isValid():
        raise QgsProcessingException(
            tr("No usable authentication configuration '{}' (is the master password entered?).").format(authcfg))
    user, password = config.config("username"), config.config("password")
    if not user:
        raise QgsProcessingException(
            tr("The authentication configuration '{}' has no user name; use a Basic (user name and password) "
               "configuration.").format(authcfg))
    return user, password


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
