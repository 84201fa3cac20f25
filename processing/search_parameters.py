"""The search parameters searchscenes and migratelabels share, declared once as a parameter mixin (QuickOSM's
shared parameter blocks): an algorithm that inherits ``SearchParameters`` adds them with
``add_search_parameters()`` (or the window and service halves on their own) and reads them back as
core.search.SearchOptions with ``search_options()``.

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


class SearchParameters:
    """Mixin for the algorithms that search: put it before the algorithm base class
    (``class SearchScenesAlgorithm(SearchParameters, LabelMigrationAlgorithm)``)."""

    DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD, PRODUCT = "DAYS_BEFORE", "DAYS_AFTER", "MAX_CLOUD", "PRODUCT"
    BACKEND, URL, COLLECTION, AUTHCFG = "BACKEND", "URL", "COLLECTION", "AUTHCFG"
    WINDOW_PARAMETERS = (DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD, PRODUCT)
    SERVICE_PARAMETERS = (BACKEND, URL, COLLECTION, AUTHCFG)
    SEARCH_PARAMETERS = WINDOW_PARAMETERS + SERVICE_PARAMETERS

    def add_window_parameters(self) -> None:
        """DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD (%), PRODUCT (enum of PRODUCT_LEVELS)."""
        for name, description, default in ((self.DAYS_BEFORE, tr("Days before"), DEFAULT_DAYS_BEFORE),
                                           (self.DAYS_AFTER, tr("Days after"), DEFAULT_DAYS_AFTER)):
            self.addParameter(QgsProcessingParameterNumber(
                name, description, QgsProcessingParameterNumber.Type.Integer, default, minValue=0,
                maxValue=MAX_WINDOW_DAYS))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_CLOUD, tr("Maximum cloud cover (%)"), QgsProcessingParameterNumber.Type.Double,
            DEFAULT_MAX_CLOUD, minValue=0, maxValue=100))
        self.addParameter(QgsProcessingParameterEnum(
            self.PRODUCT, tr("Product"), list(PRODUCT_LEVELS), defaultValue=PRODUCT_LEVELS.index(DEFAULT_PRODUCT)))

    def add_service_parameters(self) -> None:
        """BACKEND (enum in core.search.BACKEND_CHOICES' order, also by name: 'cdse-odata', 'stac', 'dhus',
        'local'), URL, COLLECTION, AUTHCFG."""
        backend = QgsProcessingParameterEnum(self.BACKEND, tr("Backend"),
                                             [tr(info.label) for info in BACKEND_CHOICES],
                                             defaultValue=BACKEND_NAMES.index(DEFAULT_BACKEND))
        name_options(backend, BACKEND_NAMES)  # BACKEND=local as well as BACKEND=3
        self.addParameter(backend)
        self.addParameter(QgsProcessingParameterString(self.URL, tr("URL"), optional=True))
        self.addParameter(QgsProcessingParameterString(self.COLLECTION, tr("Collection"), optional=True))
        self.addParameter(QgsProcessingParameterAuthConfig(self.AUTHCFG, tr("Authentication"), optional=True))

    def add_search_parameters(self) -> None:
        """Every search parameter: the window ones, then the service ones."""
        self.add_window_parameters()
        self.add_service_parameters()

    def backend_name(self, parameters, context) -> str:
        """The registry name ('cdse-odata', 'stac', 'dhus', 'local') BACKEND chooses."""
        return BACKEND_NAMES[self.parameterAsEnum(parameters, self.BACKEND, context)]

    def search_options(self, parameters, context) -> SearchOptions:
        """The search parameters as core.search.SearchOptions (AUTHCFG resolved to credentials, in memory only)."""
        return SearchOptions(
            backend=self.backend_name(parameters, context),
            url=self.parameterAsString(parameters, self.URL, context).strip() or None,
            collection=self.parameterAsString(parameters, self.COLLECTION, context).strip() or None,
            credentials=credentials(self.parameterAsString(parameters, self.AUTHCFG, context)),
            days_before=self.parameterAsInt(parameters, self.DAYS_BEFORE, context),
            days_after=self.parameterAsInt(parameters, self.DAYS_AFTER, context),
            max_cloud=self.parameterAsDouble(parameters, self.MAX_CLOUD, context),
            product=PRODUCT_LEVELS[self.parameterAsEnum(parameters, self.PRODUCT, context)],
        )
