"""The base class shared by every Label Migration algorithm."""
import os
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingFeedback, QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputLayerDefinition,
                       QgsRasterLayer)
from qgis.PyQt.QtCore import QT_TR_NOOP, QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..core.errors import LabelMigrationError

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ICON_PATH = os.path.join(PLUGIN_DIR, "icon.svg")

# QGIS takes the C++ side of a post-processor, but the Python side dies with its last Python
# reference; the algorithm instance that ran is deleted before the layers load, so the
# post-processors are kept here, for the life of the session (they are tiny).
_POST_PROCESSORS: List[QgsProcessingLayerPostProcessorInterface] = []


# The labels of core.search.BACKENDS, which the algorithms and the dock show through tr(): marked here
# for the translation files, as the core has no Qt.
BACKEND_LABELS = (QT_TR_NOOP("CDSE OData"), QT_TR_NOOP("STAC API"), QT_TR_NOOP("DHuS (sentinelsat-style hub)"),
                  QT_TR_NOOP("Local archive"))


def tr(text: str) -> str:
    return QCoreApplication.translate("LabelMigration", text)


class LabelMigrationAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set ALGORITHM_ID, DISPLAY_NAME, GROUP and HELP and implement the QGIS hooks."""

    ALGORITHM_ID = ""
    DISPLAY_NAME = ""
    GROUP = ""
    HELP = ""

    def name(self) -> str:
        return self.ALGORITHM_ID

    def displayName(self) -> str:
        return tr(self.DISPLAY_NAME)

    def group(self) -> str:
        return tr(self.GROUP)

    def groupId(self) -> str:
        # from the untranslated group name: saved models and toolbox history keep working in every language
        return self.GROUP.lower().replace(" ", "")

    def shortHelpString(self) -> str:
        return tr(self.HELP)

    def icon(self) -> QIcon:
        return QIcon(ICON_PATH)

    def createInstance(self):
        return type(self)()

    @staticmethod
    @contextmanager
    def core_errors() -> Iterator[None]:
        """Turn the core's errors into QgsProcessingException (a message, not a traceback)."""
        try:
            yield
        except LabelMigrationError as error:
            raise QgsProcessingException(str(error)) from error

    def run_core(self, function: Callable[..., Any], feedback: QgsProcessingFeedback, **arguments) -> Any:
        """Call a core function with progress and cancel wired to the feedback object."""
        with self.core_errors():  # cancelling too: its message says nothing was written
            result = function(
                progress=lambda fraction: feedback.setProgress(100.0 * fraction),
                is_cancelled=feedback.isCanceled,
                **arguments,
            )
        for warning in getattr(result, "warnings", None) or []:
            feedback.pushWarning(warning)
        return result

    def raster_path(self, parameters: Dict, name: str, context: QgsProcessingContext) -> str:
        """The GDAL path of a raster parameter, refusing layers GDAL cannot open (WMS, ...)."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(tr("No raster was given for {}.").format(name))
        return gdal_source(layer)

    def parameterAsNames(self, parameters: Dict, name: str, context: QgsProcessingContext,  # noqa: N802
                         spaces_separate: bool = False) -> Optional[List[str]]:
        """A comma-separated list parameter (band names, assets) as a list; None when empty."""
        text = self.parameterAsString(parameters, name, context)
        if spaces_separate:
            text = text.replace(" ", ",")
        return [item.strip() for item in text.split(",") if item.strip()] or None

    def parameterAsOptionalDouble(self, parameters: Dict, name: str,  # noqa: N802
                                  context: QgsProcessingContext) -> Optional[float]:
        """An optional number parameter without a default: None when not given."""
        if parameters.get(name) in (None, ""):
            return None
        return self.parameterAsDouble(parameters, name, context)

    def parameterAsOptionalOutputLayer(self, parameters: Dict, name: str,  # noqa: N802
                                       context: QgsProcessingContext) -> Optional[str]:
        """An optional raster destination, None when left empty. The batch panel passes an empty
        output definition, which parameterAsOutputLayer would queue as a nameless layer to load."""
        value = parameters.get(name)
        if isinstance(value, QgsProcessingOutputLayerDefinition):
            value = value.sink.staticValue()
        if value in (None, ""):
            return None
        return self.parameterAsOutputLayer(parameters, name, context) or None

    def load_table_on_completion(self, context: QgsProcessingContext, path: str, name: str,
                                 output_name: str) -> None:
        """Open a CSV output as a table in the project after a run from the dialog (file
        destinations get no 'Open output file' box in QGIS 3.22)."""
        if path and context.project() is not None:
            context.addLayerToLoadOnCompletion(
                path, QgsProcessingContext.LayerDetails(name, context.project(), output_name))

    def style_on_load(self, context: QgsProcessingContext, layer_id: str,
                      processor: QgsProcessingLayerPostProcessorInterface) -> None:
        if context.willLoadLayerOnCompletion(layer_id):
            _POST_PROCESSORS.append(processor)
            context.layerToLoadOnCompletionDetails(layer_id).setPostProcessor(processor)


def gdal_source(layer: QgsRasterLayer) -> str:
    if layer.providerType() != "gdal":
        raise QgsProcessingException(
            tr("The layer '{}' is served by the '{}' provider; only file-based rasters (GDAL) can be used here.")
            .format(layer.name(), layer.providerType())
        )
    return layer.source()
