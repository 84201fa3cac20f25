"""processing/search_parameters: searchscenes and migratelabels declare and read the search parameters through
one mixin (SearchParameters), with one default each, and BACKEND's indexes keep meaning what they meant."""
import pytest

pytestmark = pytest.mark.qgis

SHARING = ("searchscenes", "migratelabels")
# BACKEND=i as the algorithms' help, the README (BACKEND=3 with a folder URL) and saved models have used it since
# the enum existed: 0 CDSE OData, 1 STAC API, 2 DHuS, 3 local archive. A change breaks scripts and .model3 files.
DOCUMENTED_BACKENDS = ("cdse-odata", "stac", "dhus", "local")
DOCUMENTED_LABELS = ("CDSE OData", "STAC API", "DHuS (sentinelsat-style hub)", "Local archive")


def _algorithms(provider):
    return {name: provider.algorithm(name) for name in SHARING}


def _description(definition):
    """What a user or a script sees of a parameter (type, default, limits, choices, optional)."""
    described = {"type": definition.type(), "description": definition.description(),
                 "default": definition.defaultValue(), "optional": definition.flags() & definition.FlagOptional}
    for attribute in ("minimum", "maximum", "dataType", "options", "allowMultiple"):
        if hasattr(definition, attribute):
            described[attribute] = getattr(definition, attribute)()
    return described


def test_both_algorithms_declare_the_same_search_parameters(provider):
    from labelmigration.processing.search_parameters import SearchParameters

    algorithms = _algorithms(provider)
    for name in SearchParameters.SEARCH_PARAMETERS:
        searched, migrated = (_description(algorithms[a].parameterDefinition(name)) for a in SHARING)
        assert searched == migrated, name


def test_the_defaults_are_the_cores(provider):
    from labelmigration.core.search import SearchOptions

    for algorithm in _algorithms(provider).values():
        defaults = {name: algorithm.parameterDefinition(name).defaultValue()
                    for name in ("DAYS_BEFORE", "DAYS_AFTER", "MAX_CLOUD", "PRODUCT", "BACKEND")}
        # MAX_CLOUD 30: chosen for issue 17 (migratelabels' 30 over searchscenes' 3; the reason is in both helps)
        assert defaults == {"DAYS_BEFORE": 10, "DAYS_AFTER": 10, "MAX_CLOUD": 30.0, "PRODUCT": 1, "BACKEND": 0}
        assert "(default 30" in algorithm.shortHelpString()
    core = SearchOptions()
    assert (core.days_before, core.days_after, core.max_cloud, core.product, core.backend) == \
        (10, 10, 30.0, "L2A", "cdse-odata")


def test_backend_indexes_keep_their_meaning(provider):
    from labelmigration.core.search import BACKEND_CHOICES, BACKEND_NAMES, BACKENDS

    assert BACKEND_NAMES == DOCUMENTED_BACKENDS and tuple(BACKENDS) == DOCUMENTED_BACKENDS
    assert tuple(info.label for info in BACKEND_CHOICES) == DOCUMENTED_LABELS
    for algorithm in _algorithms(provider).values():
        assert algorithm.parameterDefinition("BACKEND").options() == list(DOCUMENTED_LABELS)  # no translator here
        help_text = algorithm.shortHelpString()
        assert all(f"{index} " in help_text for index in range(len(DOCUMENTED_BACKENDS)))


@pytest.mark.parametrize("algorithm_id", SHARING)
def test_the_parameters_are_read_into_search_options(provider, algorithm_id):
    from qgis.core import QgsProcessingContext

    from labelmigration.core.search import SearchOptions
    from labelmigration.processing.search_parameters import SearchParameters

    algorithm = provider.algorithm(algorithm_id)
    assert isinstance(algorithm, SearchParameters)
    context = QgsProcessingContext()
    parameters = {"BACKEND": 3, "URL": " /data/archive ", "COLLECTION": " sentinel-2-l2a ", "DAYS_BEFORE": 5,
                  "DAYS_AFTER": 6, "MAX_CLOUD": 12.5, "PRODUCT": 0}
    assert algorithm.backend_name(parameters, context) == "local"
    assert algorithm.search_options(parameters, context) == SearchOptions(
        backend="local", url="/data/archive", collection="sentinel-2-l2a", credentials=None, days_before=5,
        days_after=6, max_cloud=12.5, product="L1C")
    # parameters left out take the declared defaults, which are the core's
    assert algorithm.search_options({}, context) == SearchOptions()


def test_the_search_parameters_keep_their_names_on_the_algorithms(provider):
    """Scripts and saved models address the parameters as SearchScenesAlgorithm.MAX_CLOUD etc.; the mixin is their
    one declaration, so the algorithms' names are the mixin's own and every one of them is declared."""
    from labelmigration.processing.search_parameters import SearchParameters

    for algorithm in _algorithms(provider).values():
        declared = {definition.name() for definition in algorithm.parameterDefinitions()}
        for name in SearchParameters.SEARCH_PARAMETERS:
            assert getattr(type(algorithm), name) == name and name in declared
        assert algorithm.create().parameterDefinition("MAX_CLOUD").defaultValue() == 30.0
