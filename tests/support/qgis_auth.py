"""A QGIS authentication configuration for tests (QGIS's auth database, master password set once)."""


def auth_config(user: str, password: str) -> str:
    """The id of a new Basic (user name and password) configuration."""
    from qgis.core import QgsApplication, QgsAuthMethodConfig

    manager = QgsApplication.authManager()
    if not manager.masterPasswordIsSet():
        assert manager.setMasterPassword("test-master-password", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName("test")
    config.setConfig("username", user)
    config.setConfig("password", password)
    assert manager.storeAuthenticationConfig(config)
    return config.id()
