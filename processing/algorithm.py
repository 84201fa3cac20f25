"""The base class shared by every Label Migration algorithm.

It owns what every algorithm needs at its boundary: the parameter checks and the path guard before
anything is written, the limits in force during the run, and the translation of any error into one
clear message (the traceback of an unexpected error goes to the log only).
"""
import datetime
import os
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Collection, Dict, Iterator, List, Optional, Sequence, Tuple

from qgis.core import (Qgis, QgsApplication, QgsMessageLog, QgsProcessingAlgorithm, QgsProcessingContext,
                       QgsProcessingException, QgsProcessingFeedback, QgsProcessingLayerPostProcessorInterface,
                       QgsProcessingOutputLayerDefinition, QgsProcessingParameterDefinition, QgsRasterLayer)
from qgis.PyQt.QtGui import QIcon

from ..core.util import limits
from ..core.util.errors import LabelMigrationError
from ..core.util.paths import check_paths
from ..core.util.plugin_files import ICON_FILE
from ..core.util.gdal_settings import gdal_network_limits
from ..qgis_common.translation import tr
from .parameter_checks import explain_unacceptable, invalid_crs, parameter_paths
from .settings import limits_in_force

LOG_TAG = "Label Migration"
# An enum parameter whose definition has this metadata key (a list of names, one per option) takes its options'
# names as values too (BACKEND=local beside BACKEND=3), in processing.run and qgis_process: QGIS's enum accepts
# indexes only (names only with usesStaticStrings, which would break the indexes of saved models), so
# checkParameterValues and parameterAsEnum read the names themselves.
OPTION_NAMES = "labelmigration_option_names"
ERROR_LOG_BYTES = 1_000_000  # errors.log is rotated once beyond this size

# QGIS takes the C++ side of a post-processor, but the Python side dies with its last Python
# reference; the algorithm instance that ran is deleted before the layers load, so the
# post-processors are kept here, for the life of the session (they are tiny).
_POST_PROCESSORS: List[QgsProcessingLayerPostProcessorInterface] = []


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
        return QIcon(ICON_FILE)

    def createInstance(self):
        return type(self)()

    # -- before the run: parameter values and paths --------------------------------------------------
    # Output folders where no input may lie (the algorithm writes names there an input could carry).
    EXCLUSIVE_OUTPUT_FOLDERS: Collection[str] = ()

    def parameters_checked_at_run(self, parameters: Dict) -> Collection[str]:
        """Parameters whose values QGIS cannot judge and the algorithm checks itself (e.g. a SAFE
        product given as a raster); none by default."""
        return ()

    def extra_input_folders(self, parameters: Dict, context: QgsProcessingContext) -> List[Tuple[str, str]]:
        """Input folders that no parameter type names as such (e.g. a local archive given as a URL)."""
        return []

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS's name)
        parameters, problem = self._option_names_as_indexes(parameters)
        if problem:
            return False, problem
        skipped = set(self.parameters_checked_at_run(parameters))
        ok, message = (True, "") if skipped else super().checkParameterValues(parameters, context)
        for definition in self.parameterDefinitions():
            name = definition.name()
            if name not in skipped and not definition.checkValueIsAcceptable(parameters.get(name), context):
                return False, (explain_unacceptable(definition, parameters.get(name), context)
                               or tr("Incorrect parameter value for {}").format(name))
        if not ok:
            return False, message
        problem = self.path_problem(parameters, context)
        return (False, problem) if problem else (True, "")

    def _option_names_as_indexes(self, parameters: Dict) -> Tuple[Dict, Optional[str]]:
        """The parameters with every option name of a named enum (OPTION_NAMES) replaced by its index, for QGIS's
        checks; the reason when a value is neither an index nor a name."""
        replaced = dict(parameters)
        for definition in self.parameterDefinitions():
            names = option_names(definition)
            value = parameters.get(definition.name())
            if not names or not isinstance(value, str) or not value.strip() or _is_index(value):
                continue
            index = option_index(names, value)
            if index is None:
                return parameters, unknown_option_message(definition.name(), value, names)
            replaced[definition.name()] = index
        return replaced, None

    def path_problem(self, parameters: Dict, context: QgsProcessingContext) -> Optional[str]:
        """Why the parameters' paths or CRSs cannot be used (an output onto an input, ...); None when fine."""
        problem = invalid_crs(self.parameterDefinitions(), parameters, context, self)
        if problem:
            return problem
        paths = parameter_paths(self.parameterDefinitions(), parameters, context)
        try:
            check_paths(inputs=paths.inputs, input_folders=paths.input_folders + self.extra_input_folders(
                parameters, context), outputs=paths.outputs, output_folders=paths.output_folders,
                exclusive_folders=self.EXCLUSIVE_OUTPUT_FOLDERS)
        except LabelMigrationError as error:
            return str(error)
        return None

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS's name)
        # again here: a model's child algorithms are prepared and run without checkParameterValues
        problem = self.path_problem(parameters, context)
        if problem:
            raise QgsProcessingException(problem)
        return True

    # -- the run ------------------------------------------------------------------------------------------
    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS's name)
        """Runs process() with the limits of the plugin's settings in force; every error leaves as one
        QgsProcessingException with a message for the user."""
        with limits.using(limits_in_force()), gdal_network_limits():
            try:
                return self.process(parameters, context, feedback)
            except QgsProcessingException:
                raise
            except LabelMigrationError as error:  # Cancelled is one too
                raise QgsProcessingException(str(error)) from None
            except MemoryError:
                raise QgsProcessingException(tr(
                    "{} ran out of memory. Crop the input first or use smaller tiles.").format(self.displayName())
                ) from None
            except OSError as error:
                _log_traceback(self.ALGORITHM_ID)
                raise QgsProcessingException(_os_error_message(error)) from None
            except Exception as error:  # noqa: BLE001 (the boundary: nothing but a message leaves)
                where = _log_traceback(self.ALGORITHM_ID)
                raise QgsProcessingException(tr("{} failed unexpectedly: {}: {}. The details are in {}.").format(
                    self.displayName(), type(error).__name__, error, where)) from None

    def process(self, parameters: Dict, context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> Dict:
        raise NotImplementedError

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

    def parameterAsEnum(self, parameters: Dict, name: str, context: QgsProcessingContext) -> int:  # noqa: N802
        """QGIS's parameterAsEnum, which also takes an option's name for an enum with OPTION_NAMES (QGIS's own
        would silently give the default for a name)."""
        names = option_names(self.parameterDefinition(name))
        value = parameters.get(name)
        if names and isinstance(value, str) and value.strip() and not _is_index(value):
            index = option_index(names, value)
            if index is None:
                raise QgsProcessingException(unknown_option_message(name, value, names))
            return index
        return super().parameterAsEnum(parameters, name, context)

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
            details = context.layerToLoadOnCompletionDetails(layer_id)
            details.setPostProcessor(processor)
            if hasattr(details, "layerSortKey") and getattr(processor, "layer_order", 0):  # QGIS 3.32+
                details.layerSortKey = processor.layer_order  # qgis_common/styles.LAYER_ORDER


def name_options(definition: QgsProcessingParameterDefinition, names: Sequence[str]) -> None:
    """Let an enum parameter take its options' names (``names``, in the options' order) beside their indexes."""
    metadata = definition.metadata()
    metadata[OPTION_NAMES] = list(names)
    definition.setMetadata(metadata)


def option_names(definition: Optional[QgsProcessingParameterDefinition]) -> List[str]:
    return list(definition.metadata().get(OPTION_NAMES) or []) if definition is not None else []


def option_index(names: Sequence[str], value: str) -> Optional[int]:
    """The index of the option called ``value`` (any case, surrounding spaces ignored); None when none is."""
    folded = [name.lower() for name in names]
    text = value.strip().lower()
    return folded.index(text) if text in folded else None


def unknown_option_message(parameter: str, value: str, names: Sequence[str]) -> str:
    return tr("Unknown value '{}' for {}: give one of the names {} or their numbers 0 to {}.").format(
        value, parameter, ", ".join(names), len(names) - 1)


def _is_index(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def _log_traceback(algorithm_id: str) -> str:
    """Keep the traceback of an unexpected error where a developer finds it and the user is not shown
    it: the file errors.log in the plugin's settings folder, and in the desktop the Log Messages panel
    (qgis_process prints that panel's messages on the console, so there only the file). Returns
    where the details are, in words."""
    text = f"{algorithm_id}: {traceback.format_exc()}"
    path = os.path.join(QgsApplication.qgisSettingsDirPath(), "labelmigration", "errors.log")
    where = tr("the file {}").format(path)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path) and os.path.getsize(path) > ERROR_LOG_BYTES:
            os.replace(path, path + ".1")
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{datetime.datetime.now().isoformat(timespec='seconds')} {text}\n")
    except OSError:
        where = ""
    if QgsApplication.instance() is not None and QgsApplication.instance().platform() == "desktop":
        QgsMessageLog.logMessage(text, LOG_TAG, Qgis.MessageLevel.Critical, notifyUser=False)
        where = tr("the log (View > Panels > Log Messages, tab '{}')").format(LOG_TAG)
    return where or tr("no log (the settings folder cannot be written)")


def _os_error_message(error: OSError) -> str:
    target = f"'{error.filename}'" if error.filename else tr("a file")
    if error.filename2:
        target += f" / '{error.filename2}'"
    reason = error.strerror or str(error)
    return tr("Cannot read or write {}: {}.").format(target, reason)


def gdal_source(layer: QgsRasterLayer) -> str:
    if layer.providerType() != "gdal":
        raise QgsProcessingException(
            tr("The layer '{}' is served by the '{}' provider; only file-based rasters (GDAL) can be used here.")
            .format(layer.name(), layer.providerType())
        )
    return layer.source()
