"""cloudmask: a cloud mask (and probability) from an ONNX cloud model, tiled over any raster size."""
from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsGeometry,
                       QgsProcessing, QgsProcessingOutputNumber,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFile, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsWkbTypes)
from qgis.PyQt.QtCore import QVariant

from ..core.inference import predict_raster
from ..core.mask_polygons import mask_polygons
from .algorithm import LabelMigrationAlgorithm, tr
from .styles import cloud_mask_styler

ONNX_FILTER = "ONNX models (*.onnx);;All files (*.*)"


class CloudMaskAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "cloudmask"
    DISPLAY_NAME = "Cloud mask"
    GROUP = "Models"
    HELP = (
        "Runs an ONNX cloud segmentation model (a U-Net exported with the Deepness metadata keys, or any "
        "single-channel sigmoid or two-class model) over a raster of any size: tiles with overlap, blended "
        "towards tile centres so no seams appear, streamed block by block.<br><br>"
        "<b>Image</b> (INPUT): the raster to mask; nodata stays nodata.<br>"
        "<b>Model</b> (MODEL): the ONNX file. Its metadata name the bands it needs (matched to band "
        "descriptions such as B02/blue ... B08/nir) and its scaling.<br>"
        "<b>Bands</b> (BANDS): comma-separated band names or numbers, overriding the model's band list.<br>"
        "<b>Threshold</b> (THRESHOLD): cloud probability from which a pixel is cloud (default: the model's "
        "seg_thresh, else 0.5).<br>"
        "<b>Tile size</b> (TILE_SIZE) and <b>Overlap</b> (OVERLAP) in pixels: 0 = the model's own.<br>"
        "<b>Cloud mask</b> (OUTPUT): uint8, 1 cloud, 0 clear, 255 nodata.<br>"
        "<b>Cloud probability</b> (OUTPUT_PROBABILITY): optional float32.<br>"
        "<b>Cloud polygons</b> (OUTPUT_VECTOR): optional polygons of the clouds, without specks smaller than "
        "<b>Minimum area</b> (MIN_AREA) in the raster's units² (m² for UTM; default 1000).<br>"
        "CLOUD_PERCENT is the share of valid pixels that are cloud.<br><br>"
        "Example: <code>qgis_process run labelmigration:cloudmask -- INPUT=pair_image.tif MODEL=cloud.onnx "
        "OUTPUT=cloud_mask.tif</code>"
    )

    INPUT, MODEL, BANDS, THRESHOLD = "INPUT", "MODEL", "BANDS", "THRESHOLD"
    TILE_SIZE, OVERLAP, OUTPUT, OUTPUT_PROBABILITY = "TILE_SIZE", "OVERLAP", "OUTPUT", "OUTPUT_PROBABILITY"
    OUTPUT_VECTOR, MIN_AREA = "OUTPUT_VECTOR", "MIN_AREA"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Image")))
        self.addParameter(QgsProcessingParameterFile(self.MODEL, tr("Model"), fileFilter=ONNX_FILTER))
        self.addParameter(QgsProcessingParameterString(self.BANDS, tr("Bands"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, tr("Threshold"), QgsProcessingParameterNumber.Double, optional=True,
            minValue=0.0, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE_SIZE, tr("Tile size"), QgsProcessingParameterNumber.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.OVERLAP, tr("Overlap"), QgsProcessingParameterNumber.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Cloud mask")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_PROBABILITY, tr("Cloud probability"), optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT_VECTOR, tr("Cloud polygons"), QgsProcessing.TypeVectorPolygon, optional=True,
            createByDefault=False))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_AREA, tr("Minimum area"), QgsProcessingParameterNumber.Double, 1000.0, minValue=0.0))
        self.addOutput(QgsProcessingOutputNumber("CLOUD_PERCENT", tr("Cloud cover of the valid pixels (%)")))

    def processAlgorithm(self, parameters, context, feedback):
        outputs = {"classes": self.parameterAsOutputLayer(parameters, self.OUTPUT, context)}
        probability = self.parameterAsOutputLayer(parameters, self.OUTPUT_PROBABILITY, context)
        if probability:
            outputs["probability"] = probability
        result = self.run_core(
            predict_raster, feedback,
            input_path=self.raster_path(parameters, self.INPUT, context),
            model_path=self.parameterAsFile(parameters, self.MODEL, context),
            outputs=outputs,
            bands=self.parameterAsNames(parameters, self.BANDS, context),
            tile_size=self.parameterAsInt(parameters, self.TILE_SIZE, context) or None,
            overlap=self.parameterAsInt(parameters, self.OVERLAP, context) or None,
            threshold=self.parameterAsOptionalDouble(parameters, self.THRESHOLD, context),
        )
        counts = list(result.stats["classes"]["counts"].values())
        cloud_percent = 100.0 * counts[1] / result.valid_pixels if result.valid_pixels else 0.0
        feedback.pushInfo(tr("Cloud cover: {:.2f}% of {} valid pixels ({} tiles of {} px)").format(
            cloud_percent, result.valid_pixels, result.tiles, result.tile_size))
        self.style_on_load(context, outputs["classes"], cloud_mask_styler())
        results = {self.OUTPUT: outputs["classes"], "CLOUD_PERCENT": cloud_percent}
        if probability:
            results[self.OUTPUT_PROBABILITY] = probability
        if self.OUTPUT_VECTOR in parameters and parameters[self.OUTPUT_VECTOR] is not None:
            results.update(self._polygons(parameters, context, feedback, outputs["classes"]))
        return results

    def _polygons(self, parameters, context, feedback, mask_path):
        with self.core_errors():
            crs_wkt, polygons = mask_polygons(mask_path, 1, self.parameterAsDouble(parameters, self.MIN_AREA, context))
        fields = QgsFields()
        fields.append(QgsField("area", QVariant.Double))
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT_VECTOR, context, fields, QgsWkbTypes.Polygon,
                                             QgsCoordinateReferenceSystem.fromWkt(crs_wkt))
        if sink is None:
            return {}
        for wkt, area in polygons:
            feature = QgsFeature(fields)
            feature.setGeometry(QgsGeometry.fromWkt(wkt))
            feature.setAttributes([area])
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        feedback.pushInfo(tr("{} cloud polygons").format(len(polygons)))
        return {self.OUTPUT_VECTOR: dest_id}
