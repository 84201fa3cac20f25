"""evaluatesegmentation: accuracy, precision, recall, IoU and F1 of a prediction against ground truth."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingOutputString, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.models.confusion import write_confusion_csv
from ..core.models.evaluate import evaluate
from ..core.util.outputs import check_output_path
from .algorithm import LabelMigrationAlgorithm, tr

METRICS = {"ACCURACY": QT_TR_NOOP("Accuracy"), "PRECISION": QT_TR_NOOP("Precision"), "RECALL": QT_TR_NOOP("Recall"),
           "IOU": QT_TR_NOOP("IoU"), "F1": QT_TR_NOOP("F1")}  # output name: description


class EvaluateSegmentationAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "evaluatesegmentation"
    DISPLAY_NAME = QT_TR_NOOP("Evaluate segmentation")
    GROUP = QT_TR_NOOP("Models")
    HELP = QT_TR_NOOP(
        "Scores a predicted class raster (e.g. a cloud mask) against ground truth, pixel by pixel, with nodata "
        "of either raster left out. When the grids differ the prediction is warped onto the truth's grid with "
        "nearest neighbour.<br><br>"
        "<b>Prediction</b> (PREDICTION): the class raster to score.<br>"
        "<b>Ground truth</b> (GROUND_TRUTH): the reference class raster.<br>"
        "<b>Positive class</b> (POSITIVE): with two classes, the class whose precision, recall, IoU and F1 are "
        "reported (default 1, e.g. cloud); the run fails when it is not one of them. With more classes the means "
        "over classes are reported.<br>"
        "<b>Confusion matrix</b> (OUTPUT_TABLE): CSV, truth classes in rows, predicted classes in columns.<br>"
        "Outputs ACCURACY, PRECISION, RECALL, IOU, F1, and PER_CLASS (one line per class).<br><br>"
        "Example: <code>qgis_process run labelmigration:evaluatesegmentation -- PREDICTION=cloudmask.tif "
        "GROUND_TRUTH=truth.tif OUTPUT_TABLE=confusion.csv</code>"
    )

    PREDICTION, GROUND_TRUTH, POSITIVE, OUTPUT_TABLE = "PREDICTION", "GROUND_TRUTH", "POSITIVE", "OUTPUT_TABLE"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.PREDICTION, tr("Prediction")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.GROUND_TRUTH, tr("Ground truth")))
        self.addParameter(QgsProcessingParameterNumber(
            self.POSITIVE, tr("Positive class"), QgsProcessingParameterNumber.Type.Integer, 1))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_TABLE, tr("Confusion matrix"), tr("CSV files (*.csv)"), optional=True, createByDefault=True))
        for name, description in METRICS.items():
            self.addOutput(QgsProcessingOutputNumber(name, tr(description)))
        self.addOutput(QgsProcessingOutputString("PER_CLASS", tr("Metrics per class")))

    def process(self, parameters, context, feedback):
        prediction = self.raster_path(parameters, self.PREDICTION, context)
        truth = self.raster_path(parameters, self.GROUND_TRUTH, context)
        table = self.parameterAsFileOutput(parameters, self.OUTPUT_TABLE, context)
        if table:
            with self.core_errors():  # before the evaluation: a table that cannot be written fails at once
                check_output_path(table, [prediction, truth], "confusion matrix (OUTPUT_TABLE)")
        positive = self.parameterAsInt(parameters, self.POSITIVE, context)
        result = self.run_core(evaluate, feedback, prediction_path=prediction, truth_path=truth, positive=positive)
        if not result.binary and parameters.get(self.POSITIVE) not in (None, "") and len(result.classes) > 2:
            feedback.pushWarning(tr("POSITIVE ({}) is used only when the rasters hold two classes; these hold {}, "
                                    "so the means over the classes are reported.").format(
                                        positive, len(result.classes)))
        values = {"ACCURACY": result.accuracy, "PRECISION": result.precision, "RECALL": result.recall,
                  "IOU": result.iou, "F1": result.f1}
        lines = []
        for value, metrics in sorted(result.per_class.items()):
            lines.append(f"class {value}: precision {metrics.precision:.4f}, recall {metrics.recall:.4f}, "
                         f"IoU {metrics.iou:.4f}, F1 {metrics.f1:.4f}, pixels {metrics.support}")
        for line in lines:
            feedback.pushInfo(line)
        feedback.pushInfo(", ".join(f"{name} {value:.4f}" for name, value in values.items()))
        outputs = {**values, "PER_CLASS": "\n".join(lines)}
        if table:
            with self.core_errors():
                outputs[self.OUTPUT_TABLE] = write_confusion_csv(table, result)
            self.load_table_on_completion(context, table, tr("Confusion matrix"), self.OUTPUT_TABLE)
        return outputs
