"""geocodemask: a label image drawn on a reference raster becomes a georeferenced mask."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterFile,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.labels.geocode import geocode_mask
from .algorithm import LabelMigrationAlgorithm, tr
from ..qgis_common.styles import label_styler

LABEL_IMAGE_FILTER = QT_TR_NOOP("Label images (*.png *.PNG *.jpg *.jpeg *.JPG *.tif *.tiff *.TIF *.bmp);;"
                                "All files (*.*)")


class GeocodeMaskAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "geocodemask"
    DISPLAY_NAME = QT_TR_NOOP("Geocode label mask")
    GROUP = QT_TR_NOOP("Labels")
    HELP = QT_TR_NOOP(
        "Gives a label image that has no georeferencing (PNG, JPEG or a plain single-band TIFF, as "
        "exported from labelling tools) the coordinate system, geotransform and size of the raster "
        "it was drawn on.<br><br>"
        "<b>Label image</b> (INPUT): one band of class values, or RGB with one colour per class. "
        "Grey colours such as #010101 and #050505 become classes 1 and 5; other colours become "
        "classes 1, 2, ... in colour order (black is background 0), with a colour table. An alpha "
        "channel marks unlabelled pixels.<br>"
        "<b>Reference raster</b> (REFERENCE): the georeferenced image the label was drawn on.<br>"
        "<b>Add validity band</b> (VALIDITY_BAND): band 2 of the output is 1 where the reference "
        "has data and 0 where it is nodata.<br>"
        "<b>Resize label to the reference</b> (RESIZE): if the label has another size, resize it "
        "with nearest neighbour instead of stopping with an error.<br>"
        "<b>Georeferenced label</b> (OUTPUT): GeoTIFF, band 1 the class values (uint8).<br><br>"
        "Example: <code>qgis_process run labelmigration:geocodemask -- INPUT=mask.png "
        "REFERENCE=20200812_101512_3B_Visual.tif OUTPUT=mask.tif</code>"
    )

    INPUT, REFERENCE, VALIDITY_BAND, RESIZE, OUTPUT = "INPUT", "REFERENCE", "VALIDITY_BAND", "RESIZE", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, tr("Label image"), fileFilter=tr(LABEL_IMAGE_FILTER)))
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, tr("Reference raster")))
        self.addParameter(QgsProcessingParameterBoolean(self.VALIDITY_BAND, tr("Add validity band"), True))
        self.addParameter(QgsProcessingParameterBoolean(self.RESIZE, tr("Resize label to the reference"), False))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Georeferenced label")))
        self.addOutput(QgsProcessingOutputNumber("CLASS_COUNT", tr("Number of colour classes")))

    def process(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = self.run_core(
            geocode_mask, feedback,
            label_path=self.parameterAsFile(parameters, self.INPUT, context),
            reference_path=self.raster_path(parameters, self.REFERENCE, context),
            output=output,
            validity_band=self.parameterAsBool(parameters, self.VALIDITY_BAND, context),
            resize=self.parameterAsBool(parameters, self.RESIZE, context),
        )
        for index, colour in result.classes.items():
            feedback.pushInfo(tr("Class {}: colour {}").format(index, colour))
        self.style_on_load(context, output, label_styler())
        return {self.OUTPUT: output, "CLASS_COUNT": len(result.classes)}
