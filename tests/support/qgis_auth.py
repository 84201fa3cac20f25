"""A QGIS authentication configuration for tests (QGIS's auth database, master password set once)."""


def auth_config(user: str, password: str, url: str = "") -> str:
    """The id of a new Basic (user name and password) configuration; url: the server it is for
    (QGIS's 'URL' field of the configuration, which limits where the plugin sends the credentials)."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("test-master-password", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName("test")
    config.setConfig("username", user)
    config.setConfig("password", password)
    if url:
        config.setUri(url)
    assert manager.storeAuthenticationConfig(config)
    return config.id()
