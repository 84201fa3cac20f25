"""Credentials come from QGIS's authentication database; the proxy from QGIS's settings."""
import pytest

pytestmark = pytest.mark.qgis


def test_credentials_from_the_auth_database(qgis_app):
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    from labelmigration.qgis_common.network import credentials

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

    from labelmigration.qgis_common.network import proxy_url

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


def test_auth_url_is_the_configurations_url(qgis_app):
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    from labelmigration.qgis_common.network import auth_url

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("test-master-password", True)
    ids = []
    for uri in ("https://hub.example.org/dhus", "", "not a url"):
        config = QgsAuthMethodConfig("Basic")
        config.setName("with uri")
        config.setUri(uri)
        config.setConfig("username", "u")
        config.setConfig("password", "p")
        assert manager.storeAuthenticationConfig(config)
        ids.append(config.id())
    assert [auth_url(i) for i in ids] == ["https://hub.example.org/dhus", None, None]
    assert auth_url("") is None


def test_network_log_shows_the_cores_retries_in_the_feedback(qgis_app):
    import logging

    from qgis.core import QgsProcessingFeedback

    from labelmigration.core.net import http, retry
    from labelmigration.qgis_common.network import network_log

    class Feedback(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.lines = []

        def pushInfo(self, text):  # noqa: N802
            self.lines.append(text)

    feedback = Feedback()
    with network_log(feedback):
        logging.getLogger(http.__name__).warning("%s: try %d failed (%s)", "http://h/x", 1, "HTTP 503")
        logging.getLogger(retry.__name__).warning("%s", retry.retry_message("http://h/x", 1, 3, 2.0, 503))
    logging.getLogger(http.__name__).warning("after the run: not shown")
    assert feedback.lines == ["http://h/x: try 1 failed (HTTP 503)", "HTTP 503 from http://h/x, retry 1 of 3 in 2 s"]
