"""maskfootprint: the valid-data outline of georeferenced labels as a polygon layer."""
from qgis.core import (QgsCoordinateReferenceSystem, QgsFeature, QgsFeatureSink, QgsField, QgsFields, QgsGeometry,
                       QgsProcessing, QgsProcessingException, QgsProcessingParameterCrs,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterMultipleLayers, QgsWkbTypes)
from qgis.PyQt.QtCore import QT_TR_NOOP, QDate

from ..core.labels.footprint import label_footprints
from ..qgis_common import field_types
from .algorithm import LabelMigrationAlgorithm, gdal_source, tr
from ..qgis_common.styles import footprint_styler


class MaskFootprintAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "maskfootprint"
    DISPLAY_NAME = QT_TR_NOOP("Label footprints")
    GROUP = QT_TR_NOOP("Labels")
    HELP = QT_TR_NOOP(
        "Draws the outline of each label's valid data (not just its bounding box: a rotated or "
        "partly nodata label gives its real outline) as one polygon per label.<br><br>"
        "<b>Labels</b> (INPUT): one or more georeferenced label rasters, e.g. outputs of "
        "<i>Geocode label mask</i>. A band named 'validity' marks valid pixels; otherwise the "
        "raster's nodata, mask or alpha band does.<br>"
        "<b>Target CRS</b> (TARGET_CRS): coordinate system of the footprints (default EPSG:4326).<br>"
        "<b>Footprints</b> (OUTPUT): polygons with the fields <i>label</i> (file name), "
        "<i>area_m2</i> (true area in square metres) and <i>date</i> (from a date such as "
        "20200812 or 2020-08-12 in the file name, or the raster's date metadata; empty when unknown).<br><br>"
        "Example: <code>qgis_process run labelmigration:maskfootprint -- INPUT=mask_20200812.tif "
        "OUTPUT=footprints.gpkg</code>"
    )

    INPUT, TARGET_CRS, OUTPUT = "INPUT", "TARGET_CRS", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUT, tr("Labels"), QgsProcessing.SourceType.TypeRaster))
        # Optional: QGIS 3.22 rejects a missing non-optional CRS even when it has a default.
        self.addParameter(QgsProcessingParameterCrs(self.TARGET_CRS, tr("Target CRS"), "EPSG:4326", optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, tr("Footprints"), QgsProcessing.SourceType.TypeVectorPolygon))

    def process(self, parameters, context, feedback):
        layers = self.parameterAsLayerList(parameters, self.INPUT, context)
        if not layers:
            raise QgsProcessingException(tr("No label rasters were given."))
        crs = self._target_crs(parameters, context)
        footprints = self.run_core(
            label_footprints, feedback,
            paths=[gdal_source(layer) for layer in layers],
            target_crs=crs.toWkt(QgsCoordinateReferenceSystem.WktVariant.WKT_PREFERRED_GDAL),
        )
        fields = QgsFields()
        fields.append(QgsField("label", field_types.STRING))
        fields.append(QgsField("area_m2", field_types.DOUBLE))
        fields.append(QgsField("date", field_types.DATE))
        sink, dest_id = self.parameterAsSink(
            parameters, self.OUTPUT, context, fields, QgsWkbTypes.Type.MultiPolygon, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for footprint in footprints:
            feature = QgsFeature(fields)
            geometry = QgsGeometry.fromWkt(footprint.wkt)
            geometry.convertToMultiType()
            feature.setGeometry(geometry)
            date = QDate(footprint.date.year, footprint.date.month, footprint.date.day) if footprint.date else None
            feature.setAttributes([footprint.label, footprint.area_m2, date])
            sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
        self.style_on_load(context, dest_id, footprint_styler())
        return {self.OUTPUT: dest_id}

    def _target_crs(self, parameters, context) -> QgsCoordinateReferenceSystem:
        """The chosen CRS; EPSG:4326 only when none was given, never in place of an unknown one."""
        if parameters.get(self.TARGET_CRS) in (None, ""):
            return QgsCoordinateReferenceSystem("EPSG:4326")
        crs = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
        if not crs.isValid():
            raise QgsProcessingException(tr("Target CRS (TARGET_CRS): {!r} is not a coordinate reference system "
                                            "QGIS knows.").format(parameters.get(self.TARGET_CRS)))
        return crs
