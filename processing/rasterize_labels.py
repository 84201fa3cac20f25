"""rasterizelabels: vector labels (e.g. OpenStreetMap land use) burnt by class onto a reference grid."""
from typing import List, Optional

from qgis.core import (Qgis, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsCsException, QgsExpression,
                       QgsFeatureRequest, QgsProcessing, QgsProcessingException, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFeatureSource, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString, QgsRectangle)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.labels.class_colours import color_table
from ..core.labels.class_config import load_class_config
from ..core.util.limits import check_pixels
from ..core.labels.rasterize import rasterize_classes
from .algorithm import LabelMigrationAlgorithm, tr
from ..qgis_common.styles import label_styler


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
        "seed's skynet-data labels.<br>"
        "Labels that do not overlap the reference raster, or a filter naming a field the layer lacks, fail the run; "
        "a class raster that comes out all background is written with a warning.<br><br>"
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
        reference_path = self.raster_path(parameters, self.REFERENCE, context)
        crs: QgsCoordinateReferenceSystem = reference.crs()
        with self.core_errors():
            check_pixels(reference.width(), reference.height(), f"The reference raster '{reference_path}'")
        transform = self._transform(source, reference, reference_path, context)
        area = self._area_in_layer_crs(transform, reference.extent())
        classes = [(entry, self._geometries(source, entry, transform, area, feedback)) for entry in config]
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        rgb = self.parameterAsOptionalOutputLayer(parameters, self.OUTPUT_RGB, context)
        counts = self.run_core(
            rasterize_classes, feedback, reference_path=reference_path,
            output=output, classes=classes,
            srs_wkt=crs.toWkt(QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL),
            colours=color_table(config, display=True), rgb_output=rgb or None,
            all_touched=self.parameterAsBool(parameters, self.ALL_TOUCHED, context),
        )
        names = {0: "background", **{entry.index: entry.name for entry in config}}
        for value, count in sorted(counts.items()):
            feedback.pushInfo(tr("{}: {} pixels").format(names.get(value, value), count))
        if set(counts) <= {0}:
            feedback.pushWarning(tr("No class covers any pixel of the reference grid: the class raster is all "
                                    "background. Check the class filters and the labels' extent."))
        self.style_on_load(context, output, label_styler(names))
        results = {self.OUTPUT: output}
        if rgb:
            results[self.OUTPUT_RGB] = rgb
        return results

    def _transform(self, source, reference, reference_path: str, context) -> QgsCoordinateTransform:
        """The labels-to-reference transform, once both CRSs are known and the labels overlap the reference."""
        name = source.sourceName() or "INPUT"
        if not reference.crs().isValid():
            raise QgsProcessingException(tr(
                "The reference raster REFERENCE ('{}') has no coordinate reference system, so the labels cannot be "
                "placed on its grid. Assign one to it first.").format(reference_path))
        if not source.sourceCrs().isValid():
            raise QgsProcessingException(tr(
                "The labels layer INPUT ('{}') has no coordinate reference system. Assign one to it first "
                "(Layer Properties > Source).").format(name))
        if source.featureCount() == 0:
            raise QgsProcessingException(tr(
                "The labels layer INPUT ('{}') has no features: the class raster would be all background."
            ).format(name))
        transform = QgsCoordinateTransform(source.sourceCrs(), reference.crs(), context.transformContext())
        try:
            extent = transform.transformBoundingBox(source.sourceExtent())
        except QgsCsException as error:
            raise QgsProcessingException(tr(
                "The extent of the labels layer INPUT ('{}', {}) cannot be transformed to the reference raster's "
                "CRS ({}): {}").format(name, source.sourceCrs().authid(), reference.crs().authid(), error)) from None
        if not extent.intersects(reference.extent()):
            raise QgsProcessingException(tr(
                "The labels layer INPUT ('{}') does not overlap the reference raster REFERENCE ('{}'): the labels "
                "cover {} and the reference {} (in {}), so the class raster would be all background. Choose a "
                "reference raster over the labels.").format(
                    name, reference_path, extent.toString(0), reference.extent().toString(0), reference.crs().authid()))
        return transform

    @staticmethod
    def _area_in_layer_crs(transform: QgsCoordinateTransform, extent: QgsRectangle) -> Optional[QgsRectangle]:
        """The reference's extent in the labels' CRS, to read only the features on the grid (None: read all)."""
        try:
            return transform.transformBoundingBox(extent, Qgis.TransformDirection.Reverse)
        except QgsCsException:
            return None

    def _geometries(self, source, entry, transform, area, feedback) -> List[str]:
        """The WKT geometries (in the reference CRS) of the features the class's filter selects."""
        expression = QgsExpression(entry.filter)
        if expression.hasParserError():
            raise QgsProcessingException(tr("The filter of class '{}' is not a valid expression: {}").format(
                entry.name, expression.parserErrorString()))
        fields = source.fields().names()
        unknown = [name for name in expression.referencedColumns() if name not in fields
                   and name != QgsFeatureRequest.ALL_ATTRIBUTES]
        if unknown:
            raise QgsProcessingException(tr(
                "The filter of class '{}' ({}) names the field(s) {}, which the labels layer INPUT does not have; "
                "its fields are: {}.").format(entry.name, entry.filter, ", ".join(unknown),
                                              ", ".join(fields) or "none"))
        request = QgsFeatureRequest(expression).setNoAttributes()
        if area is not None:
            request.setFilterRect(area)
        geometries = []
        for feature in source.getFeatures(request):
            geometry = feature.geometry()
            if geometry.isEmpty():
                continue
            try:
                geometry.transform(transform)
            except QgsCsException as error:
                raise QgsProcessingException(tr(
                    "Feature {} of class '{}' cannot be transformed to the reference raster's CRS: {}").format(
                        feature.id(), entry.name, error)) from None
            geometries.append(geometry.asWkt())
        feedback.pushInfo(tr("{}: {} features").format(entry.name, len(geometries)))
        return geometries
