"""segment: any ONNX segmentation model: class raster in class colours, heatmaps, counts per class."""
from qgis.core import (QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.class_counts import class_counts, write_counts_file
from ..core.classes import color_table, load_class_config, palette_colours
from ..core.inference import load_model, predict_raster
from .algorithm import LabelMigrationAlgorithm, tr
from .cloud_mask import ONNX_FILTER
from .styles import label_styler


class SegmentAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "segment"
    DISPLAY_NAME = QT_TR_NOOP("Segment with a model")
    GROUP = QT_TR_NOOP("Models")
    HELP = QT_TR_NOOP(
        "Runs any ONNX segmentation model (Deepness-compatible metadata) over a raster of any size, tiled "
        "with centre-weighted blending.<br><br>"
        "<b>Image</b> (INPUT): the raster; nodata stays nodata.<br>"
        "<b>Model</b> (MODEL): the ONNX file.<br>"
        "<b>Bands</b> (BANDS): comma-separated band names or numbers, overriding the model's band list.<br>"
        "<b>Classes</b> (CLASSES): optional class config, a JSON file or text: a list of "
        "<code>{\"name\": ..., \"color\": \"#rrggbb\", \"filter\": ...}</code> (class 1 first); its names and "
        "colours are used. Otherwise the model's class names and a palette.<br>"
        "<b>Threshold</b> (THRESHOLD): pixels whose best probability is below it become class 0 (default: the "
        "model's seg_thresh).<br>"
        "<b>Classes</b> (OUTPUT): uint8 class raster with a colour table, 255 nodata.<br>"
        "<b>Heatmaps</b> (OUTPUT_HEATMAPS): optional, one float32 probability band per class.<br>"
        "<b>Counts</b> (OUTPUT_COUNTS): optional CSV of pixels and area per class (they sum to the valid "
        "pixels).<br>"
        "The outputs appear together or not at all. NaN pixels of the image are nodata; an image without a valid "
        "pixel, or a model that returns NaN for any valid pixel, fails the run and writes nothing.<br><br>"
        "Example: <code>qgis_process run labelmigration:segment -- INPUT=image.tif MODEL=landuse.onnx "
        "CLASSES=classes.json OUTPUT=classes.tif OUTPUT_COUNTS=counts.csv</code>"
    )

    INPUT, MODEL, BANDS, CLASSES, THRESHOLD = "INPUT", "MODEL", "BANDS", "CLASSES", "THRESHOLD"
    OUTPUT, OUTPUT_HEATMAPS, OUTPUT_COUNTS = "OUTPUT", "OUTPUT_HEATMAPS", "OUTPUT_COUNTS"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Image")))
        self.addParameter(QgsProcessingParameterFile(self.MODEL, tr("Model"), fileFilter=tr(ONNX_FILTER)))
        self.addParameter(QgsProcessingParameterString(self.BANDS, tr("Bands"), optional=True))
        self.addParameter(QgsProcessingParameterString(self.CLASSES, tr("Class config"), optional=True,
                                                       multiLine=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, tr("Threshold"), QgsProcessingParameterNumber.Type.Double, optional=True,
            minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Classes")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_HEATMAPS, tr("Heatmaps"), optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_COUNTS, tr("Counts"), tr("CSV files (*.csv)"), optional=True, createByDefault=False))

    def process(self, parameters, context, feedback):
        model_path = self.parameterAsFile(parameters, self.MODEL, context)
        config_text = self.parameterAsString(parameters, self.CLASSES, context).strip()
        with self.core_errors():
            if config_text:
                config = load_class_config(config_text)
                names = {0: "background", **{entry.index: entry.name for entry in config}}
                colours = color_table(config, display=True)
            else:
                names = dict(load_model(model_path).info.class_names)
                colours = palette_colours(max(names) if names else 1)
        outputs = {"classes": self.parameterAsOutputLayer(parameters, self.OUTPUT, context)}
        heatmaps = self.parameterAsOptionalOutputLayer(parameters, self.OUTPUT_HEATMAPS, context)
        if heatmaps:
            outputs["probability"] = heatmaps
        counts_path = self.parameterAsFileOutput(parameters, self.OUTPUT_COUNTS, context)
        result = self.run_core(
            predict_raster, feedback, input_path=self.raster_path(parameters, self.INPUT, context),
            model_path=model_path, outputs=outputs,
            bands=self.parameterAsNames(parameters, self.BANDS, context),
            threshold=self.parameterAsOptionalDouble(parameters, self.THRESHOLD, context),
            class_colours=colours, extra_outputs={"counts": counts_path} if counts_path else None,
            finish=lambda paths: counts_table(paths, names),
        )
        for row in result.finished:
            feedback.pushInfo(tr("{}: {} pixels").format(row["name"], row["pixels"]))
            if names and row["pixels"] and row["class"] not in names:
                feedback.pushWarning(tr("Class {} ({} pixels) has no name in the class config or the model's "
                                        "class_names; it has no colour of its own.").format(
                                            row["class"], row["pixels"]))
        results = {self.OUTPUT: outputs["classes"]}
        if heatmaps:
            results[self.OUTPUT_HEATMAPS] = heatmaps
        if counts_path:
            results[self.OUTPUT_COUNTS] = counts_path
            self.load_table_on_completion(context, counts_path, tr("Class counts"), self.OUTPUT_COUNTS)
        self.style_on_load(context, outputs["classes"], label_styler(names))
        return results


def counts_table(paths, names):
    """The counts per class of the finished class raster, written to the counts CSV when one is asked for
    (before any output is published, so all appear together)."""
    rows = class_counts(paths["classes"], names)
    if "counts" in paths:
        write_counts_file(paths["counts"], rows)
    return rows
