"""Headless QGIS with Processing initialised and the Label Migration provider registered."""
import time

import pytest

# The registry owns the C++ provider, but its Python half lives only while Python refers to it.
_PROVIDERS = []


@pytest.fixture
def provider(qgis_app, qgis_processing):
    """The registered provider (registered on first use; the plugin test may have removed it)."""
    from qgis.core import QgsApplication

    from labelmigration.processing.provider import LabelMigrationProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("labelmigration") is None:
        _PROVIDERS.append(LabelMigrationProvider())
        assert registry.addProvider(_PROVIDERS[-1])
    return registry.providerById("labelmigration")


@pytest.fixture
def run(provider):
    """processing.run with the provider registered."""
    import processing
    from qgis.core import QgsProcessingFeedback

    def run_algorithm(algorithm_id, parameters, context=None):
        return processing.run(f"labelmigration:{algorithm_id}", parameters, feedback=QgsProcessingFeedback(),
                              context=context)

    return run_algorithm


@pytest.fixture
def dock(qgis_iface, provider):
    """The scene search dock (with its Migrate labels tab); the project is emptied afterwards."""
    from qgis.core import QgsProject

    from labelmigration.ui.search_dock import SceneSearchDock

    widget = SceneSearchDock(qgis_iface)
    yield widget
    widget.shutdown()
    widget.deleteLater()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


@pytest.fixture
def wait_idle():
    """wait_idle(dock, timeout_s): process Qt events until the dock's background task has ended."""
    from qgis.core import QgsApplication

    def wait(dock, timeout_s):
        deadline = time.monotonic() + timeout_s
        while dock.is_busy():
            assert time.monotonic() < deadline, "timed out waiting for the dock's task"
            QgsApplication.processEvents()
            time.sleep(0.02)

    return wait
