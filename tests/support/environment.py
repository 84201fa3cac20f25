"""Environments for programs the tests start as a user would."""
import os

# pytest-qgis points QGIS at a settings folder of its own; a user's shell has no such variables.
_PYTEST_QGIS_VARIABLES = ("QGIS_CUSTOM_CONFIG_PATH", "QGIS_OPTIONS_PATH")


def user_environment(**overrides) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in _PYTEST_QGIS_VARIABLES}
    environment.update(overrides)
    return environment
