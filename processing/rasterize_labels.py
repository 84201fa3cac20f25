"""rasterizelabels: vector labels (e.g. OpenStreetMap land use) burnt by class onto a reference grid."""
from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsExpression, QgsFeatureRequest,
                       QgsProcessing, QgsProcessingException, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.classes import color_table, load_class_config
from ..core.rasterize import rasterize_classes
from .algorithm import LabelMigrationAlgorithm, tr
from .styles import label_styler


class RasterizeLabelsAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "rasterizelabels"
    DISPLAY_NAME = QT_TR_NOOP("Rasterize labels by class")
    GROUP = QT_TR_NOOP("Labels")
    HELP = QT_TR_NOOP(
        "Burns polygon or line labels onto the grid of a reference raster, one class per filter "
        "expression, as a training label.<br><br>"
        "<b>Labels</b> (INPUT): a polygon or line layer, e.g. OpenStreetMap land use.<br>"
        "<b>Class config</b> (CLASSES): a JSON file or text: a list of <code>{\"name\": \"Residential\", "
        "\"color\": \"#010101\", \"filter\": \"\\\"landuse\\\" = 'residential'\"}</code> (or skynet-data's "
        "<code>{\"classes\": [...]}</code> with <code>[field]</code> filters). Class 1 is the first entry; later "
        "classes paint over earlier ones; unmatched pixels are background 0.<br>"
        "<b>Reference raster</b> (REFERENCE): the grid (CRS, extent, pixel size) to burn onto.<br>"
        "<b>All touched</b> (ALL_TOUCHED): burn every pixel a geometry touches (thin lines need it).<br>"
        "<b>Class raster</b> (OUTPUT): uint8 with a colour table (visible colours for near-black codes).<br>"
        "<b>RGB-encoded</b> (OUTPUT_RGB): optional 3-band raster in the classes' encoding colours, as the "
        "seed's skynet-data labels.<br><br>"
        "Example: <code>qgis_process run labelmigration:rasterizelabels -- INPUT=osm_landuse.gpkg "
        "CLASSES=classes.json REFERENCE=pair_image.tif OUTPUT=landuse_label.tif</code>"
    )

    INPUT, CLASSES, REFERENCE, ALL_TOUCHED = "INPUT", "CLASSES", "REFERENCE", "ALL_TOUCHED"
    OUTPUT, OUTPUT_RGB = "OUTPUT", "OUTPUT_RGB"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, tr("Labels"),
            [QgsProcessing.SourceType.TypeVectorPolygon, QgsProcessing.SourceType.TypeVectorLine]))
        self.addParameter(QgsProcessingParameterString(self.CLASSES, tr("Class config"), multiLine=True))
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, tr("Reference raster")))
        self.addParameter(QgsProcessingParameterBoolean(self.ALL_TOUCHED, tr("All touched"), False))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Class raster")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_RGB, tr("RGB-encoded"), optional=True, createByDefault=False))

    def process(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.INPUT))
        with self.core_errors():
            config = load_class_config(self.parameterAsString(parameters, self.CLASSES, context))
        reference = self.parameterAsRasterLayer(parameters, self.REFERENCE, context)
        crs: QgsCoordinateReferenceSystem = reference.crs()
        transform = QgsCoordinateTransform(source.sourceCrs(), crs, context.transformContext())
        classes = []
        for entry in config:
            expression = QgsExpression(entry.filter)
            if expression.hasParserError():
                raise QgsProcessingException(tr("The filter of class '{}' is not a valid expression: {}").format(
                    entry.name, expression.parserErrorString()))
            request = QgsFeatureRequest(expression).setNoAttributes()
            geometries = []
            for feature in source.getFeatures(request):
                geometry = feature.geometry()
                if geometry.isEmpty():
                    continue
                geometry.transform(transform)
                geometries.append(geometry.asWkt())
            feedback.pushInfo(tr("{}: {} features").format(entry.name, len(geometries)))
            classes.append((entry, geometries))
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        rgb = self.parameterAsOptionalOutputLayer(parameters, self.OUTPUT_RGB, context)
        counts = self.run_core(
            rasterize_classes, feedback, reference_path=self.raster_path(parameters, self.REFERENCE, context),
            output=output, classes=classes,
            srs_wkt=crs.toWkt(QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL),
            colours=color_table(config, display=True), rgb_output=rgb or None,
            all_touched=self.parameterAsBool(parameters, self.ALL_TOUCHED, context),
        )
        names = {0: "background", **{entry.index: entry.name for entry in config}}
        for value, count in sorted(counts.items()):
            feedback.pushInfo(tr("{}: {} pixels").format(names.get(value, value), count))
        self.style_on_load(context, output, label_styler(names))
        results = {self.OUTPUT: output}
        if rgb:
            results[self.OUTPUT_RGB] = rgb
        return results
