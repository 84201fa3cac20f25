"""Credentials come from QGIS's authentication database; the proxy from QGIS's settings."""
import pytest

pytestmark = pytest.mark.qgis


def test_credentials_from_the_auth_database(qgis_app):
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    from labelmigration.processing.network import credentials

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("test-master-password", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName("CDSE test account")
    config.setConfig("username", "someone@example.org")
    config.setConfig("password", "s3cret!")
    assert manager.storeAuthenticationConfig(config)
    assert credentials(config.id()) == ("someone@example.org", "s3cret!")
    assert credentials("") is None
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="No usable authentication configuration 'nope123'"):
        credentials("nope123")


def test_proxy_from_qgis_settings(qgis_app):
    from qgis.core import QgsSettings

    from labelmigration.processing.network import proxy_url

    settings = QgsSettings()
    try:
        settings.setValue("proxy/proxyEnabled", False)
        assert proxy_url() is None
        settings.setValue("proxy/proxyEnabled", True)
        settings.setValue("proxy/proxyHost", "proxy.example.org")
        settings.setValue("proxy/proxyPort", "3128")
        settings.setValue("proxy/proxyUser", "me")
        settings.setValue("proxy/proxyPassword", "p@ss")
        assert proxy_url() == "http://me:p%40ss@proxy.example.org:3128"
    finally:
        for key in ("proxyEnabled", "proxyHost", "proxyPort", "proxyUser", "proxyPassword"):
            settings.remove(f"proxy/{key}")
