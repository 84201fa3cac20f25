"""INPUT_SCALING: what the input raster's values are, declared once for every algorithm that runs a model
(cloudmask, segment, migratelabels). core.models.input_scaling decides and explains the model input from it."""
from qgis.core import QgsProcessingOutputString, QgsProcessingParameterEnum
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.models.input_scaling import CHOICES
from .algorithm import tr

NAME = "INPUT_SCALING"
WARNINGS = "WARNINGS"  # output: the run's warnings, one per line ('' when none)
# labels in the order of core.models.input_scaling.CHOICES (scripts pass the index)
LABELS = (QT_TR_NOOP("Automatic (from the bands' scale/offset, data type and values)"),
          QT_TR_NOOP("Raw DN with the model's scaling"),
          QT_TR_NOOP("Reflectance 0-1"),
          QT_TR_NOOP("8-bit 0-255"))


def add_input_scaling(algorithm, optional: bool = False) -> None:
    """Add INPUT_SCALING (default automatic) and the WARNINGS output to ``algorithm``."""
    algorithm.addParameter(QgsProcessingParameterEnum(NAME, tr("Input scaling"), [tr(label) for label in LABELS],
                                                      defaultValue=0, optional=optional))
    algorithm.addOutput(QgsProcessingOutputString(WARNINGS, tr("Warnings")))


def input_scaling_choice(algorithm, parameters, context) -> str:
    """core.models.input_scaling's choice ('auto', 'dn', 'reflectance', '8bit') for INPUT_SCALING."""
    if parameters.get(NAME) in (None, ""):
        return CHOICES[0]
    return CHOICES[algorithm.parameterAsEnum(parameters, NAME, context)]


def report(feedback, result) -> str:
    """Say how the input was scaled in the log; the WARNINGS output (the warnings, one per line)."""
    if getattr(result, "input_scaling", ""):
        feedback.pushInfo(tr("Input scaling: {}").format(result.input_scaling))
    return "\n".join(getattr(result, "warnings", None) or [])
