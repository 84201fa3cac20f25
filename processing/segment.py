"""segment: any ONNX segmentation model: class raster in class colours, heatmaps, counts per class."""
from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.labels.class_counts import class_counts, write_counts_file
from ..core.labels.class_colours import color_table, model_colours
from ..core.labels.class_config import load_class_config
from ..core.models.onnx_model import load_model
from ..core.models.predict import predict_raster
from .algorithm import LabelMigrationAlgorithm, tr
from .cloud_mask import ONNX_FILTER
from .input_scaling_parameter import WARNINGS, add_input_scaling, input_scaling_choice, report
from ..qgis_common.styles import label_styler


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
        "colours are used. Otherwise the model's class names, and its class colours (class_colors metadata, as "
        "trainsegmentation writes) or a palette.<br>"
        "<b>Input scaling</b> (INPUT_SCALING): what the image's values are, as in cloudmask: 0 = automatic, "
        "1 = raw DN (the model's reflectance_scale applies), 2 = reflectance 0-1, 3 = 8-bit 0-255; the model's "
        "input is (r / 255 - standardization_mean) / standardization_std as in Deepness. The log says what was "
        "decided; WARNINGS lists the run's warnings, e.g. an input implausible for the model.<br>"
        "<b>Threshold</b> (THRESHOLD): pixels whose best probability is below it become class 0 (default: the "
        "model's seg_thresh).<br>"
        "<b>Resample to the model's resolution</b> (RESAMPLE): yes by default: the model runs on the image "
        "resampled (bilinear) to the model's resolution, as in Deepness, and the outputs come back onto the "
        "image's grid.<br>"
        "<b>Model resolution</b> (MODEL_RESOLUTION): in cm per pixel; 0 = the model's <code>resolution</code> "
        "metadata.<br>"
        "<b>Small-segment filter</b> (SMALL_SEGMENT): Deepness's median filter of the class map (odd size "
        "derived from the model's <code>seg_small_segment</code> when empty; 0 = none).<br>"
        "<b>Classes</b> (OUTPUT): uint8 class raster with a colour table, 255 nodata; a model with several "
        "outputs (heads) gives one band per head, named after the head.<br>"
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
    MODEL_RESOLUTION, RESAMPLE, SMALL_SEGMENT = "MODEL_RESOLUTION", "RESAMPLE", "SMALL_SEGMENT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Image")))
        self.addParameter(QgsProcessingParameterFile(self.MODEL, tr("Model"), fileFilter=tr(ONNX_FILTER)))
        self.addParameter(QgsProcessingParameterString(self.BANDS, tr("Bands"), optional=True))
        self.addParameter(QgsProcessingParameterString(self.CLASSES, tr("Class config"), optional=True,
                                                       multiLine=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, tr("Threshold"), QgsProcessingParameterNumber.Type.Double, optional=True,
            minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.RESAMPLE, tr("Resample to the model's resolution"), defaultValue=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MODEL_RESOLUTION, tr("Model resolution (cm/px, 0 = the model's)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SMALL_SEGMENT, tr("Small-segment filter size (px; empty = the model's, 0 = none)"),
            QgsProcessingParameterNumber.Type.Integer, optional=True, minValue=0, maxValue=255))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Classes")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_HEATMAPS, tr("Heatmaps"), optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_COUNTS, tr("Counts"), tr("CSV files (*.csv)"), optional=True, createByDefault=False))
        add_input_scaling(self)

    def process(self, parameters, context, feedback):
        model_path = self.parameterAsFile(parameters, self.MODEL, context)
        config_text = self.parameterAsString(parameters, self.CLASSES, context).strip()
        with self.core_errors():
            model = load_model(model_path)
            # one {class: name} per output head; a sigmoid head named X is (background, X), as in Deepness
            head_names = [model.class_names_of(i) for i in range(max(1, len(model.head_channels)))]
            if config_text:
                config = load_class_config(config_text)
                names = {0: "background", **{entry.index: entry.name for entry in config}}
                colours = color_table(config, display=True)
                head_names = [names] + head_names[1:]
            else:
                names = head_names[0]
                colours = model_colours(max(max(n) if n else 1 for n in head_names), model.info.class_colors)
        resolution = None
        if self.parameterAsBool(parameters, self.RESAMPLE, context):
            resolution = self.parameterAsDouble(parameters, self.MODEL_RESOLUTION, context) or model.info.resolution
        small_segment = self.parameterAsOptionalDouble(parameters, self.SMALL_SEGMENT, context)
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
            finish=lambda paths: counts_table(paths, names, head_names, model.head_labels),
            resolution=resolution, small_segment=None if small_segment is None else int(small_segment),
            input_scaling=input_scaling_choice(self, parameters, context),
        )
        warnings = report(feedback, result)
        for row in result.finished:
            feedback.pushInfo(tr("{}: {} pixels").format(row["name"], row["pixels"]))
            if names and row["pixels"] and row["class"] not in names:
                feedback.pushWarning(tr("Class {} ({} pixels) has no name in the class config or the model's "
                                        "class_names; it has no colour of its own.").format(
                                            row["class"], row["pixels"]))
        results = {self.OUTPUT: outputs["classes"], WARNINGS: warnings}
        if heatmaps:
            results[self.OUTPUT_HEATMAPS] = heatmaps
        if counts_path:
            results[self.OUTPUT_COUNTS] = counts_path
            self.load_table_on_completion(context, counts_path, tr("Class counts"), self.OUTPUT_COUNTS)
        self.style_on_load(context, outputs["classes"], label_styler(names))
        return results


def counts_table(paths, names, head_names=None, head_labels=None):
    """The counts per class of the finished class raster, written to the counts CSV when one is asked for
    (before any output is published, so all appear together). A model with several output heads gives one
    band per head: the rows then say which output (head) they count."""
    rows = class_counts(paths["classes"], names)
    if head_names and len(head_names) > 1:
        labels = list(head_labels or [])
        labels += [f"output {i}" for i in range(len(labels), len(head_names))]
        rows = [{"output": labels[0], **row} for row in rows]
        for number in range(2, len(head_names) + 1):
            rows += [{"output": labels[number - 1], **row}
                     for row in class_counts(paths["classes"], head_names[number - 1], band=number)]
    if "counts" in paths:
        write_counts_file(paths["counts"], rows)
    return rows
