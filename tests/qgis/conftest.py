"""Headless QGIS with Processing initialised and the Label Migration provider registered."""
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
