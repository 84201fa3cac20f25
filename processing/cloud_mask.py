"""cloudmask: a cloud mask (and probability) from an ONNX cloud model, tiled over any raster size."""
import os

from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsGeometry,
                       QgsProcessing, QgsProcessingException, QgsProcessingOutputLayerDefinition,
                       QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFile, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsWkbTypes)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.models.cloud_classes import MASK_CLOUD, MASK_SHADOW, CloudPicker
from ..core.models.csmask import ukis_model
from ..core.models.predict import predict_raster
from ..core.models.tiling import MAX_TILE_SIZE
from ..core.labels.mask_polygons import mask_polygons
from ..core.util.outputs import check_output_path
from ..core.util.plugin_files import BUNDLED_CLOUD_MODEL, BUNDLED_CLOUD_MODEL_6BAND
from ..qgis_common import field_types
from .algorithm import LabelMigrationAlgorithm, tr
from .input_scaling_parameter import WARNINGS, add_input_scaling, input_scaling_choice, report
from .parameter_checks import parameter_paths
from ..qgis_common.styles import cloud_mask_styler

ONNX_FILTER = QT_TR_NOOP("ONNX models (*.onnx);;All files (*.*)")
BUNDLED_MODEL = BUNDLED_CLOUD_MODEL
BUNDLED_MODEL_6BAND = BUNDLED_CLOUD_MODEL_6BAND
# BUILTIN_MODEL options in their fixed order (scripts and saved models pass the index; new ones go at the end):
# "bundled" / "bundled-6band" = the plugin's own files, else a ukis-csmask variant
BUILTIN_MODELS = (
    (QT_TR_NOOP("Label Migration cloud model, 4 bands (bundled)"), "bundled"),
    (QT_TR_NOOP("ukis-csmask 4 bands L1C"), "4b-l1c"),
    (QT_TR_NOOP("ukis-csmask 4 bands L2A"), "4b-l2a"),
    (QT_TR_NOOP("ukis-csmask 6 bands L1C"), "6b-l1c"),
    (QT_TR_NOOP("ukis-csmask 6 bands L2A"), "6b-l2a"),
    (QT_TR_NOOP("Label Migration cloud model, 6 bands with SWIR (bundled)"), "bundled-6band"),
)


def _given(value) -> bool:
    """Whether an optional sink parameter asks for an output (the batch panel passes empty definitions)."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink.staticValue()
    return value not in (None, "")


class CloudMaskAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "cloudmask"
    DISPLAY_NAME = QT_TR_NOOP("Cloud mask")
    GROUP = QT_TR_NOOP("Models")
    HELP = QT_TR_NOOP(
        "Runs an ONNX cloud segmentation model (a U-Net exported with the Deepness metadata keys: a "
        "single-channel sigmoid, or classes such as clear / cloud / cloud shadow) over a raster of any size: "
        "tiles with overlap, blended towards tile centres so no seams appear, streamed block by block.<br><br>"
        "<b>Image</b> (INPUT): the raster to mask; nodata stays nodata.<br>"
        "<b>Model</b> (MODEL): an ONNX file (optional). Its metadata name the bands it needs (matched to band "
        "descriptions such as B02/blue ... B08/nir, B11/swir16, B12/swir22) and its scaling. When given, it "
        "wins over the built-in model.<br>"
        "<b>Built-in model</b> (BUILTIN_MODEL), used when MODEL is empty: 0 = the Label Migration cloud model "
        "bundled with the plugin (4 bands B02 B03 B04 B08); 1 to 4 = the cloud/shadow U-Nets of the "
        "ukis-csmask package (pip install ukis-csmask==1.0.0): 1 = 4 bands L1C, 2 = 4 bands L2A, "
        "3 = 6 bands L1C, 4 = 6 bands L2A (B02 B03 B04 B08 B11 B12); 5 = the Label Migration model's 6-band "
        "variant, bundled too (B02 B03 B04 B08 B11 B12; cross-validated on L8 Biome, cloud IoU 0.68 against the "
        "4-band model's 0.61, on snow and ice 0.50 against 0.28: models/cloud_s2_6band.md). They take "
        "reflectance: a raster "
        "without scale/offset metadata is read as DN / 10000 (give products from baseline 04.00 on with "
        "their offset applied, e.g. safetogeotiff REFLECTANCE, or say what the values are with "
        "INPUT_SCALING); a SAFE product's own band files (a VRT over its JPEG 2000 files, or the product as "
        "QGIS opens a dropped SAFE zip, its bands B4, B3, B2, B8 matched by name) are read with the quantification "
        "and offset of the product's metadata. An 8-bit image (a JPEG, PNG or display stretch) holds no "
        "reflectance: the run warns that it looks darker than any real scene.<br>"
        "<b>Classes</b>: the model's class names decide, case-insensitively, which class is cloud (a name with "
        "'cloud' or 'cirrus': cloud, clouds, thick cloud ...) and which is cloud shadow (a name with 'shadow': "
        "shadow, cloud shadow, cloud_shadow); a single-channel model is cloud only; a model whose names name no "
        "cloud has class 1 as cloud (with a warning). The log says what was decided.<br>"
        "<b>Bands</b> (BANDS): comma-separated band names or numbers, overriding the model's band list.<br>"
        "<b>Input scaling</b> (INPUT_SCALING): what the image's values are: 0 = automatic (bands with a "
        "scale/offset make reflectance with it, Byte rasters are 8-bit, integer bands DN, floating-point bands "
        "reflectance when their values are at most 2, else DN; USGS Landsat Collection 2 Level-2 surface "
        "reflectance files, known by their product id (LC08_L2SP_...), are read with USGS's scale 0.0000275 and "
        "offset -0.2, which their bands do not declare; Level-1 band files (LC08_L1TP_..._B4.TIF, alone or "
        "stacked in a VRT) are read as top-of-atmosphere reflectance with the factors and sun elevation of the "
        "product's _MTL.txt, which must lie beside them), 1 = raw DN (the model's reflectance_scale "
        "applies), 2 = reflectance 0-1, 3 = 8-bit 0-255. The log says what was decided; WARNINGS lists the "
        "run's warnings, e.g. an input implausible for the model.<br>"
        "<b>Threshold</b> (THRESHOLD): cloud probability from which a pixel is cloud (default: the model's "
        "seg_thresh; without one a single-channel model uses 0.5 and a model with classes the most probable "
        "class, as for ukis-csmask). With SHADOW, a pixel that is not cloud is shadow where the shadow "
        "probability reaches the threshold (without one: where shadow is the most probable class).<br>"
        "<b>Mark cloud shadow</b> (SHADOW): when ticked (default: not) the mask also marks cloud shadow with 2, "
        "for models with a shadow class (ukis-csmask's, the bundled model when it has one); the log says so when "
        "the model has none.<br>"
        "<b>Tile size</b> (TILE_SIZE) and <b>Overlap</b> (OVERLAP) in pixels: 0 = the model's own. Tiles are at "
        "most 8192 pixels, overlaps at most half a tile; tiles that would not fit the memory limit are refused "
        "before the run.<br>"
        "<b>Cloud mask</b> (OUTPUT): uint8, 1 cloud, 0 clear, 255 nodata, and 2 cloud shadow with SHADOW.<br>"
        "<b>Cloud probability</b> (OUTPUT_PROBABILITY): optional float32, the cloud class's probability.<br>"
        "<b>Cloud polygons</b> (OUTPUT_VECTOR): optional polygons of the clouds, without specks smaller than "
        "<b>Minimum area</b> (MIN_AREA) in the raster's units² (m² for UTM; default 1000).<br>"
        "CLOUD_PERCENT is the share of valid pixels that are cloud, SHADOW_PERCENT the share that is cloud "
        "shadow (0 without SHADOW or a shadow class). NaN pixels of the image are nodata, and so is DN 0 of "
        "16-bit bands that declare no nodata, for a model that reads reflectance as the bundled ones do (the fill "
        "value of Sentinel-2 and USGS Landsat products; the log says so); an image "
        "without a valid pixel, or a model that returns NaN for any valid pixel, fails the run and writes "
        "nothing.<br><br>"
        "Example: <code>qgis_process run labelmigration:cloudmask -- INPUT=pair_image.tif MODEL=cloud.onnx "
        "OUTPUT=cloud_mask.tif</code>, or with <code>BUILTIN_MODEL=2</code> instead of MODEL for "
        "ukis-csmask's 4-band L2A model."
    )

    INPUT, MODEL, BANDS, THRESHOLD = "INPUT", "MODEL", "BANDS", "THRESHOLD"
    TILE_SIZE, OVERLAP, OUTPUT, OUTPUT_PROBABILITY = "TILE_SIZE", "OVERLAP", "OUTPUT", "OUTPUT_PROBABILITY"
    OUTPUT_VECTOR, MIN_AREA, BUILTIN_MODEL = "OUTPUT_VECTOR", "MIN_AREA", "BUILTIN_MODEL"
    SHADOW = "SHADOW"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Image")))
        self.addParameter(QgsProcessingParameterFile(self.MODEL, tr("Model"), fileFilter=tr(ONNX_FILTER),
                                                     optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.BUILTIN_MODEL, tr("Built-in model (when no model file is given)"),
            [tr(label) for label, _ in BUILTIN_MODELS], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(self.BANDS, tr("Bands"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, tr("Threshold"), QgsProcessingParameterNumber.Type.Double, optional=True,
            minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE_SIZE, tr("Tile size"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0,
            maxValue=MAX_TILE_SIZE))
        self.addParameter(QgsProcessingParameterNumber(
            self.OVERLAP, tr("Overlap"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0,
            maxValue=MAX_TILE_SIZE // 2))
        self.addParameter(QgsProcessingParameterBoolean(self.SHADOW, tr("Mark cloud shadow (value 2)"), False))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Cloud mask")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_PROBABILITY, tr("Cloud probability"), optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_VECTOR, tr("Cloud polygons"), QgsProcessing.SourceType.TypeVectorPolygon, optional=True,
            createByDefault=False))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_AREA, tr("Minimum area"), QgsProcessingParameterNumber.Type.Double, 1000.0, minValue=0.0))
        self.addOutput(QgsProcessingOutputNumber("CLOUD_PERCENT", tr("Cloud cover of the valid pixels (%)")))
        self.addOutput(QgsProcessingOutputNumber("SHADOW_PERCENT", tr("Cloud shadow of the valid pixels (%)")))
        add_input_scaling(self)

    def process(self, parameters, context, feedback):
        input_path = self.raster_path(parameters, self.INPUT, context)
        outputs = {"classes": self.parameterAsOutputLayer(parameters, self.OUTPUT, context)}
        probability = self.parameterAsOptionalOutputLayer(parameters, self.OUTPUT_PROBABILITY, context)
        if probability:
            outputs["probability"] = probability
        polygons_wanted = _given(parameters.get(self.OUTPUT_VECTOR))
        min_area = self.parameterAsDouble(parameters, self.MIN_AREA, context)
        if polygons_wanted:
            self._check_polygon_output(parameters, context, input_path)

        def polygons(paths):  # from the finished mask, before it is published: a failure leaves no mask behind
            return mask_polygons(paths["classes"], MASK_CLOUD, min_area)

        shadow = self.parameterAsBoolean(parameters, self.SHADOW, context)
        picker = CloudPicker(shadow=shadow, warn=True)  # decides the cloud (and shadow) class once the model is open

        result = self.run_core(
            predict_raster, feedback,
            input_path=input_path,
            outputs=outputs,
            **self._model(parameters, context),
            bands=self.parameterAsNames(parameters, self.BANDS, context),
            tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context) or None,
            overlap=self.parameterAsInt(parameters, self.OVERLAP, context) or None,
            threshold=self.parameterAsOptionalDouble(parameters, self.THRESHOLD, context),
            finish=polygons if polygons_wanted else None,
            input_scaling=input_scaling_choice(self, parameters, context),
            only_class=picker,
        )
        warnings = report(feedback, result)
        feedback.pushInfo(tr("Cloud model classes: {}").format(picker.classes.describe(picker.names)))
        if shadow and not picker.marks_shadow:
            feedback.pushInfo(tr("Cloud shadow was asked for (SHADOW), but the model has no cloud shadow class: the "
                                 "mask holds cloud and clear only, and SHADOW_PERCENT is 0."))
        counts = list(result.stats["classes"]["counts"].values())
        # predict_raster refuses runs without valid pixels
        cloud_percent = 100.0 * counts[MASK_CLOUD] / result.valid_pixels
        shadow_percent = 100.0 * counts[MASK_SHADOW] / result.valid_pixels if picker.marks_shadow else 0.0
        feedback.pushInfo(tr("Cloud cover: {:.2f}% of {} valid pixels ({} tiles of {} px)").format(
            cloud_percent, result.valid_pixels, result.tiles, result.tile_size))
        if picker.marks_shadow:
            feedback.pushInfo(tr("Cloud shadow: {:.2f}% of the valid pixels").format(shadow_percent))
        self.style_on_load(context, outputs["classes"], cloud_mask_styler(shadow=picker.marks_shadow))
        results = {self.OUTPUT: outputs["classes"], "CLOUD_PERCENT": cloud_percent,
                   "SHADOW_PERCENT": shadow_percent, WARNINGS: warnings}
        if probability:
            results[self.OUTPUT_PROBABILITY] = probability
        if polygons_wanted:
            results.update(self._polygons(parameters, context, feedback, *result.finished))
        return results

    def _check_polygon_output(self, parameters, context, input_path: str) -> None:
        """Before the model runs: the polygons need a CRS, and their file must be writable."""
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is not None and not layer.crs().isValid():
            raise QgsProcessingException(tr(
                "Cloud polygons (OUTPUT_VECTOR) need a georeferenced image, but the input raster INPUT ('{}') has "
                "no coordinate reference system. Assign one first, or leave OUTPUT_VECTOR empty.").format(input_path))
        for name, path in parameter_paths(self.parameterDefinitions(), parameters, context).outputs:
            if name == self.OUTPUT_VECTOR:
                with self.core_errors():
                    check_output_path(path, [input_path], "cloud polygons (OUTPUT_VECTOR)")

    def _model(self, parameters, context) -> dict:
        """predict_raster's model arguments: MODEL when given, else the BUILTIN_MODEL choice."""
        path = self.parameterAsFile(parameters, self.MODEL, context)
        if path:
            return {"model_path": path}
        label, variant = BUILTIN_MODELS[self.parameterAsEnum(parameters, self.BUILTIN_MODEL, context)]
        bundled = {"bundled": BUNDLED_MODEL, "bundled-6band": BUNDLED_MODEL_6BAND}.get(variant)
        if bundled is not None:
            if not os.path.isfile(bundled):
                raise QgsProcessingException(tr(
                    "The bundled cloud model '{}' is not installed with this copy of the plugin. Give an ONNX "
                    "file in MODEL or choose a ukis-csmask model in BUILTIN_MODEL.").format(bundled))
            return {"model_path": bundled}
        with self.core_errors():
            path, info = ukis_model(variant)
        return {"model_path": path, "model_info": info}  # classes 0 clear, 1 cloud, 2 shadow: named so

    def _polygons(self, parameters, context, feedback, crs_wkt, polygons):
        """Write the polygons made before the rasters were published; a failure here names what was kept."""
        fields = QgsFields()
        fields.append(QgsField("area", field_types.DOUBLE))
        try:
            sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT_VECTOR, context, fields,
                                                 QgsWkbTypes.Type.Polygon,
                                                 QgsCoordinateReferenceSystem.fromWkt(crs_wkt))
        except QgsProcessingException as error:
            raise QgsProcessingException(tr(
                "The cloud mask was written, but the cloud polygons (OUTPUT_VECTOR) could not be: {}").format(error)
            ) from None
        if sink is None:
            return {}
        for wkt, area in polygons:
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
            feature.setAttributes([area])
            sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
        feedback.pushInfo(tr("{} cloud polygons").format(len(polygons)))
        return {self.OUTPUT_VECTOR: dest_id}
