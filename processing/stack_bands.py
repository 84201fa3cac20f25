"""stackbands: single-band rasters become the bands of one raster, in the given order."""
from qgis.core import (QgsProcessing, QgsProcessingParameterMultipleLayers, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.sentinel2.stack import stack_bands
from .algorithm import LabelMigrationAlgorithm, gdal_source, tr
from ..qgis_common.styles import image_styler


class StackBandsAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "stackbands"
    DISPLAY_NAME = QT_TR_NOOP("Stack bands")
    GROUP = QT_TR_NOOP("Rasters")
    HELP = QT_TR_NOOP(
        "Stacks single-band rasters, such as 38-Cloud's red_, green_, blue_ and nir_ patches or "
        "per-band Sentinel-2 files, into one multiband GeoTIFF in the order given.<br><br>"
        "<b>Input bands</b> (INPUTS): single-band rasters of one grid (same size, geotransform and "
        "CRS); mismatches stop with an error naming the file.<br>"
        "<b>Band names</b> (BAND_NAMES): optional comma-separated names, one per input; by default "
        "each input's band description, the 38-Cloud prefix (red, green, ...), a Sentinel-2 band file's band "
        "(T32UPC_20230615T101559_B02_10m.jp2: B02) or the file name.<br>"
        "<b>Stacked raster</b> (OUTPUT): GeoTIFF with band descriptions set; each band keeps its input's "
        "scale/offset, and a Sentinel-2 band file without one (from a SAFE product, in it or copied out of it) "
        "gets its product's (1/10000, and -1000 DN from processing baseline 04.00 on), so models read the stack as "
        "reflectance.<br><br>"
        "Example: <code>qgis_process run labelmigration:stackbands -- INPUTS=red_patch_1.tif "
        "INPUTS=green_patch_1.tif INPUTS=blue_patch_1.tif INPUTS=nir_patch_1.tif OUTPUT=patch_1.tif</code>"
    )

    INPUTS, BAND_NAMES, OUTPUT = "INPUTS", "BAND_NAMES", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.INPUTS, tr("Input bands"), QgsProcessing.SourceType.TypeRaster))
        self.addParameter(QgsProcessingParameterString(self.BAND_NAMES, tr("Band names"), optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Stacked raster")))

    def process(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        names_text = self.parameterAsString(parameters, self.BAND_NAMES, context)
        names = [name.strip() for name in names_text.split(",")] if names_text.strip() else None
        result = self.run_core(
            stack_bands, feedback,
            inputs=[gdal_source(layer) for layer in self.parameterAsLayerList(parameters, self.INPUTS, context)],
            output=output,
            band_names=names,
        )
        feedback.pushInfo(tr("Bands: {}").format(", ".join(result.band_names)))
        self.style_on_load(context, output, image_styler())
        return {self.OUTPUT: output}
