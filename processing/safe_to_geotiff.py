"""safetogeotiff: a Sentinel-2 SAFE product as one multiband GeoTIFF on one grid."""
from qgis.core import (QgsProcessingParameterBoolean, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.sentinel2.convert import RESAMPLING_METHODS, safe_to_geotiff
from ..core.sentinel2.safe_product import RESOLUTIONS
from .algorithm import LabelMigrationAlgorithm, tr
from ..qgis_common.styles import image_styler

PRODUCT_FILTER = "Sentinel-2 products (MTD_MSIL1C.xml MTD_MSIL2A.xml *.zip *.SAFE);;All files (*.*)"


class SafeToGeoTiffAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "safetogeotiff"
    DISPLAY_NAME = QT_TR_NOOP("Sentinel-2 product to GeoTIFF")
    GROUP = QT_TR_NOOP("Rasters")
    HELP = QT_TR_NOOP(
        "Converts a Sentinel-2 L1C or L2A product into one multiband GeoTIFF with every band on one "
        "grid, read where it lies (a zip is read in place, never extracted).<br><br>"
        "<b>Product</b> (INPUT): the .SAFE folder, the product zip, or its MTD_MSIL1C.xml / MTD_MSIL2A.xml; "
        "or an EOPF Zarr product (a .zarr folder or URL, Zarr v2 or v3; radiometry from its arrays' "
        "scale_factor and add_offset).<br>"
        "<b>Bands</b> (BANDS): comma-separated band names in output order, e.g. <code>B02,B03,B04,B08</code>; "
        "empty = all spectral bands (B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12; L2A has no B10).<br>"
        "<b>Add the scene classification</b> (INCLUDE_SCL): L2A only; appends SCL (always nearest neighbour).<br>"
        "<b>Resolution</b> (RESOLUTION): 10, 20 or 60 m: the tile's grid at that resolution (0, 1, 2).<br>"
        "<b>Resampling</b> (RESAMPLING): for bands of another native resolution; bilinear by default. "
        "Nodata (DN 0) never blends into valid pixels.<br>"
        "<b>Reflectance</b> (REFLECTANCE): float32 reflectance = (DN + offset) / quantification, with the "
        "offset (-1000 from processing baseline 04.00 on) and quantification read from the product's own "
        "metadata; nodata NaN. Off: uint16 DN unchanged with the same offset and scale stored as band "
        "metadata, nodata 0.<br>"
        "<b>Cloud-optimised</b> (COG): write a COG with overviews instead of a tiled GeoTIFF.<br>"
        "<b>GeoTIFF</b> (OUTPUT): band descriptions are the band names.<br><br>"
        "Example: <code>qgis_process run labelmigration:safetogeotiff -- "
        "INPUT=S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_20200815T130012.zip BANDS=B02,B03,B04,B08 "
        "RESOLUTION=0 REFLECTANCE=true OUTPUT=T32UPU_20200815.tif</code>"
    )

    INPUT, BANDS, INCLUDE_SCL, RESOLUTION = "INPUT", "BANDS", "INCLUDE_SCL", "RESOLUTION"
    RESAMPLING, REFLECTANCE, COG, OUTPUT = "RESAMPLING", "REFLECTANCE", "COG", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.INPUT, tr("Product"), fileFilter=PRODUCT_FILTER))
        self.addParameter(QgsProcessingParameterString(self.BANDS, tr("Bands"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean(self.INCLUDE_SCL, tr("Add the scene classification"), False))
        self.addParameter(QgsProcessingParameterEnum(
            self.RESOLUTION, tr("Resolution"), [f"{r} m" for r in RESOLUTIONS], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.RESAMPLING, tr("Resampling"), list(RESAMPLING_METHODS), defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(self.REFLECTANCE, tr("Reflectance"), False))
        self.addParameter(QgsProcessingParameterBoolean(self.COG, tr("Cloud-optimised"), False))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("GeoTIFF")))

    def process(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = self.run_core(
            safe_to_geotiff, feedback,
            product_path=self.parameterAsFile(parameters, self.INPUT, context),
            output=output,
            bands=self.parameterAsNames(parameters, self.BANDS, context, spaces_separate=True),
            resolution=RESOLUTIONS[self.parameterAsEnum(parameters, self.RESOLUTION, context)],
            resampling=RESAMPLING_METHODS[self.parameterAsEnum(parameters, self.RESAMPLING, context)],
            reflectance=self.parameterAsBool(parameters, self.REFLECTANCE, context),
            include_scl=self.parameterAsBool(parameters, self.INCLUDE_SCL, context),
            cog=self.parameterAsBool(parameters, self.COG, context),
        )
        feedback.pushInfo(tr("{} product, processing baseline {}, EPSG:{}, {} x {} pixels, bands {}").format(
            result.level, result.baseline, result.epsg, result.width, result.height, ", ".join(result.bands)))
        self.style_on_load(context, output, image_styler())
        return {self.OUTPUT: output}
