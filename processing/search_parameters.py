"""The search parameters searchscenes and migratelabels share, declared once (QuickOSM style: one function adds
them to an algorithm, one reads them into core.search.SearchOptions).

Names, defaults and enum orders are the public interface: scripts, qgis_process calls and saved models
(.model3) pass them, so BACKEND=3 keeps meaning the local archive (core.search.BACKEND_CHOICES holds the order)
and PRODUCT=1 L2A (core.search.scene.PRODUCT_LEVELS). BACKEND also takes the backends' names (BACKEND=local).
"""
from qgis.core import (QgsProcessingParameterAuthConfig, QgsProcessingParameterEnum, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..core.search import BACKEND_CHOICES, BACKEND_NAMES, DEFAULT_BACKEND, SearchOptions
from ..core.search.base import (DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE, DEFAULT_MAX_CLOUD, DEFAULT_PRODUCT,
                                MAX_WINDOW_DAYS)
from ..core.search.scene import PRODUCT_LEVELS
from .algorithm import name_options, tr
from ..qgis_common.network import credentials

DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD, PRODUCT = "DAYS_BEFORE", "DAYS_AFTER", "MAX_CLOUD", "PRODUCT"
BACKEND, URL, COLLECTION, AUTHCFG = "BACKEND", "URL", "COLLECTION", "AUTHCFG"
WINDOW_PARAMETERS = (DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD, PRODUCT)
SERVICE_PARAMETERS = (BACKEND, URL, COLLECTION, AUTHCFG)
SEARCH_PARAMETERS = WINDOW_PARAMETERS + SERVICE_PARAMETERS


def add_window_parameters(algorithm) -> None:
    """DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD (%), PRODUCT (enum of PRODUCT_LEVELS)."""
    for name, description, default in ((DAYS_BEFORE, tr("Days before"), DEFAULT_DAYS_BEFORE),
                                       (DAYS_AFTER, tr("Days after"), DEFAULT_DAYS_AFTER)):
        algorithm.addParameter(QgsProcessingParameterNumber(
            name, description, QgsProcessingParameterNumber.Type.Integer, default, minValue=0,
            maxValue=MAX_WINDOW_DAYS))
    algorithm.addParameter(QgsProcessingParameterNumber(
        MAX_CLOUD, tr("Maximum cloud cover (%)"), QgsProcessingParameterNumber.Type.Double, DEFAULT_MAX_CLOUD,
        minValue=0, maxValue=100))
    algorithm.addParameter(QgsProcessingParameterEnum(
        PRODUCT, tr("Product"), list(PRODUCT_LEVELS), defaultValue=PRODUCT_LEVELS.index(DEFAULT_PRODUCT)))


def add_service_parameters(algorithm) -> None:
    """BACKEND (enum in core.search.BACKEND_CHOICES' order, also by name: 'cdse-odata', 'stac', 'dhus', 'local'),
    URL, COLLECTION, AUTHCFG."""
    backend = QgsProcessingParameterEnum(BACKEND, tr("Backend"), [tr(info.label) for info in BACKEND_CHOICES],
                                         defaultValue=BACKEND_NAMES.index(DEFAULT_BACKEND))
    name_options(backend, BACKEND_NAMES)  # BACKEND=local as well as BACKEND=3
    algorithm.addParameter(backend)
    algorithm.addParameter(QgsProcessingParameterString(URL, tr("URL"), optional=True))
    algorithm.addParameter(QgsProcessingParameterString(COLLECTION, tr("Collection"), optional=True))
    algorithm.addParameter(QgsProcessingParameterAuthConfig(AUTHCFG, tr("Authentication"), optional=True))


def add_search_parameters(algorithm) -> None:
    """Every search parameter: the window ones, then the service ones."""
    add_window_parameters(algorithm)
    add_service_parameters(algorithm)


def backend_name(algorithm, parameters, context) -> str:
    """The registry name ('cdse-odata', 'stac', 'dhus', 'local') BACKEND chooses."""
    return BACKEND_NAMES[algorithm.parameterAsEnum(parameters, BACKEND, context)]


def search_options(algorithm, parameters, context) -> SearchOptions:
    """The search parameters as core.search.SearchOptions (AUTHCFG resolved to credentials, in memory only)."""
    return SearchOptions(
        backend=backend_name(algorithm, parameters, context),
        url=algorithm.parameterAsString(parameters, URL, context).strip() or None,
        collection=algorithm.parameterAsString(parameters, COLLECTION, context).strip() or None,
        credentials=credentials(algorithm.parameterAsString(parameters, AUTHCFG, context)),
        days_before=algorithm.parameterAsInt(parameters, DAYS_BEFORE, context),
        days_after=algorithm.parameterAsInt(parameters, DAYS_AFTER, context),
        max_cloud=algorithm.parameterAsDouble(parameters, MAX_CLOUD, context),
        product=PRODUCT_LEVELS[algorithm.parameterAsEnum(parameters, PRODUCT, context)],
    )
