"""The co-registration parameters cropscene and migratelabels share, declared once as a parameter mixin (as
processing/search_parameters.py does for the search): an algorithm that inherits ``CoregistrationParameters``
adds them with ``add_coregistration_parameters()`` and reads them back with ``coregistration_choice()``.

COREGISTER keeps its labels, order and default (0 measures the shift, 1 also moves the label) and, like the
new MIN_SHIFT_CONFIDENCE, is optional: graphical models (.model3) saved before either existed still run.
"""
from typing import Tuple

from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterEnum, QgsProcessingParameterNumber

from ..core.quality.coregistration import DEFAULT_MIN_CONFIDENCE
from .algorithm import tr


class CoregistrationParameters:
    """Mixin for the algorithms that co-register a label: put it before the algorithm base class
    (``class CropSceneAlgorithm(CoregistrationParameters, LabelMigrationAlgorithm)``)."""

    COREGISTER, MIN_SHIFT_CONFIDENCE = "COREGISTER", "MIN_SHIFT_CONFIDENCE"
    COREGISTRATION_PARAMETERS = (COREGISTER, MIN_SHIFT_CONFIDENCE)

    def add_coregistration_parameters(self) -> None:
        """COREGISTER (0 measure the shift only, 1 also move the label) and MIN_SHIFT_CONFIDENCE (0 to 1,
        advanced): the shift confidence from which COREGISTER=1 moves the label."""
        self.addParameter(QgsProcessingParameterEnum(
            self.COREGISTER, tr("Co-register"), [tr("Measure the shift only"),
                                                 tr("Measure and move the label when confident")], defaultValue=0,
            optional=True))
        confidence = QgsProcessingParameterNumber(
            self.MIN_SHIFT_CONFIDENCE, tr("Minimum shift confidence to move the label"),
            QgsProcessingParameterNumber.Type.Double, DEFAULT_MIN_CONFIDENCE, optional=True, minValue=0.0,
            maxValue=1.0)
        confidence.setFlags(confidence.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(confidence)

    def coregistration_choice(self, parameters, context) -> Tuple[int, float]:
        """(coregister, min_confidence): COREGISTER's choice and the confidence from which it moves a label."""
        coregister = self.parameterAsEnum(parameters, self.COREGISTER, context)
        if parameters.get(self.MIN_SHIFT_CONFIDENCE) in (None, ""):
            return coregister, DEFAULT_MIN_CONFIDENCE
        return coregister, self.parameterAsDouble(parameters, self.MIN_SHIFT_CONFIDENCE, context)
