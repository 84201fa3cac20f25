"""cropscene: scene pixels under a label plus the label on the same grid, an aligned pair."""
import os

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputNumber, QgsProcessingParameterBand,
                       QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.labels.crop import crop_scene
from ..core.quality.pair_quality import assess_pair, source_image_for
from ..core.util.errors import LabelMigrationError
from ..core.sentinel2.eopf import is_eopf_product
from ..core.sentinel2.safe import is_safe_product
from ..core.search.results import RANK_COLUMNS, scene_at_rank
from .algorithm import LabelMigrationAlgorithm, tr
from .coregistration_parameters import CoregistrationParameters
from ..qgis_common.styles import image_styler, label_styler

LABEL_RESAMPLING = ["near", "mode"]


class CropSceneAlgorithm(CoregistrationParameters, LabelMigrationAlgorithm):
    ALGORITHM_ID = "cropscene"
    DISPLAY_NAME = QT_TR_NOOP("Crop scene to label")
    GROUP = QT_TR_NOOP("Labels")
    HELP = QT_TR_NOOP(
        "Cuts the scene pixels under a label and puts the label on exactly the same grid, so the "
        "two form an aligned training pair. Only the needed window of the scene is read, so a "
        "remote Cloud-Optimised GeoTIFF (<code>/vsicurl/https://...</code>) costs a few requests.<br><br>"
        "<b>Scene</b> (SCENE): any GDAL raster: GeoTIFF, VRT or a /vsicurl/ COG; or a Sentinel-2 "
        "product (.SAFE folder, zip or MTD_MSIL1C.xml / MTD_MSIL2A.xml, or an EOPF Zarr product: a .zarr "
        "folder or URL, Zarr v2 or v3), cropped straight from its bands on the 10 m grid (bands of 20 and "
        "60 m resampled bilinearly) without converting it first; of a Zarr product only the chunks under the "
        "label are read.<br>"
        "<b>Search result</b> (SCENES): instead of SCENE, a <i>searchscenes</i> output (layer or file): its "
        "scene of rank RANK is cropped (a local product, or a remote GeoTIFF read through /vsicurl/). When the "
        "result holds several labels, the one named like the label file is used. This chains searchscenes "
        "to cropscene in the graphical modeler.<br>"
        "<b>Rank</b> (RANK): which scene of the search result, 1 = the best (default).<br>"
        "<b>Other tiles</b> (OTHER_TILES): further Sentinel-2 products of the same datatake, mosaicked with "
        "the scene when the label straddles MGRS tiles.<br>"
        "<b>Label</b> (LABEL): a georeferenced label raster, in any CRS (e.g. EPSG:3035 label, UTM scene).<br>"
        "<b>Bands</b> (BANDS): scene bands to keep by number, in order (default: all).<br>"
        "<b>Band names</b> (BAND_NAMES): or by name, comma-separated: band descriptions, or Sentinel-2 band "
        "names for products, e.g. <code>B02,B03,B04,B08</code>.<br>"
        "<b>Label resampling</b> (LABEL_RESAMPLING): nearest (default) or mode (majority class, "
        "better when the label is much finer than the scene).<br>"
        "<b>Image</b> (OUTPUT_IMAGE): the scene's own pixels, CRS and grid (never resampled) over the "
        "label's bounding box; pixels outside the label's footprint are nodata. It keeps the scene's "
        "scale/offset; DN of a Sentinel-2 product's own band files without one (a VRT over its JPEG 2000 "
        "files, the product as QGIS opens a dropped SAFE zip, or a copy of that) get the product's: "
        "1/10000 and the offset of processing baseline 04.00 and later (-1000 DN).<br>"
        "<b>Label on image grid</b> (OUTPUT_LABEL): the label on exactly the image's grid; nodata "
        "outside the label.<br>"
        "<b>Co-register</b> (COREGISTER): 0 (default) measures the shift between the label's source image and "
        "the image by sub-pixel phase correlation (SHIFT_X_M, SHIFT_Y_M in metres: where the source shows a "
        "feature minus where the scene shows it; SHIFT_CONFIDENCE 0 to 1); 1 also moves the label by minus the "
        "shift when SHIFT_CONFIDENCE is MIN_SHIFT_CONFIDENCE (default 0.5) or more (LABEL_MOVED_M). "
        "CHANGE_SCORE: how badly the image fits the label (0 fits; core.quality.change).<br>"
        "<b>Minimum shift confidence</b> (MIN_SHIFT_CONFIDENCE), advanced: the SHIFT_CONFIDENCE (0 to 1, "
        "default 0.5) from which COREGISTER=1 moves the label; raise it to move only on a clear match.<br>"
        "<b>Source image</b> (SOURCE_IMAGE): the image the label was drawn on (default: "
        "&lt;label&gt;_source.tif beside the label; without one no shift is measured).<br>"
        "A label partly outside the scene is cropped to what overlaps; COVERED_PERCENT reports the "
        "share of the label footprint inside the scene and NODATA_PERCENT the share of label pixels "
        "without image data.<br><br>"
        "Example: <code>qgis_process run labelmigration:cropscene -- SCENE=S2_T32UPU.tif "
        "LABEL=mask.tif OUTPUT_IMAGE=pair_image.tif OUTPUT_LABEL=pair_label.tif</code>; or the best scene "
        "of a search: <code>SCENES=scenes.gpkg RANK=1</code> instead of SCENE"
    )

    SCENE, LABEL, BANDS, LABEL_RESAMPLING = "SCENE", "LABEL", "BANDS", "LABEL_RESAMPLING"
    BAND_NAMES, OTHER_TILES, SCENES, RANK = "BAND_NAMES", "OTHER_TILES", "SCENES", "RANK"
    OUTPUT_IMAGE, OUTPUT_LABEL = "OUTPUT_IMAGE", "OUTPUT_LABEL"
    SOURCE_IMAGE = "SOURCE_IMAGE"  # COREGISTER, MIN_SHIFT_CONFIDENCE: from CoregistrationParameters
    QUALITY_OUTPUTS = (("SHIFT_X_M", "shift_x_m"), ("SHIFT_Y_M", "shift_y_m"),
                       ("SHIFT_CONFIDENCE", "shift_confidence"), ("LABEL_MOVED_M", "label_moved_m"),
                       ("CHANGE_SCORE", "change_score"))

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.SCENE, tr("Scene"), optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.SCENES, tr("Search result (instead of a scene)"), [QgsProcessing.SourceType.TypeVectorAnyGeometry],
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.RANK, tr("Rank of the scene in the search result"), QgsProcessingParameterNumber.Type.Integer,
            defaultValue=1, minValue=1))
        self.addParameter(QgsProcessingParameterRasterLayer(self.LABEL, tr("Label")))
        self.addParameter(QgsProcessingParameterBand(
            self.BANDS, tr("Bands"), None, self.SCENE, optional=True, allowMultiple=True))
        self.addParameter(QgsProcessingParameterString(self.BAND_NAMES, tr("Band names"), optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.OTHER_TILES, tr("Other tiles"), QgsProcessing.SourceType.TypeFile, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.LABEL_RESAMPLING, tr("Label resampling"), [tr("Nearest neighbour"), tr("Mode (majority)")],
            defaultValue=0))
        self.add_coregistration_parameters()
        self.addParameter(QgsProcessingParameterRasterLayer(self.SOURCE_IMAGE, tr("Source image"), optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_IMAGE, tr("Image")))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_LABEL, tr("Label on image grid")))
        self.addOutput(QgsProcessingOutputNumber("COVERED_PERCENT", tr("Label footprint covered by the scene (%)")))
        self.addOutput(QgsProcessingOutputNumber("NODATA_PERCENT", tr("Label pixels without image data (%)")))
        for name, column in self.QUALITY_OUTPUTS:
            self.addOutput(QgsProcessingOutputNumber(name, column))

    def checkParameterValues(self, parameters, context):  # noqa: N802 (QGIS's name)
        has_scene = parameters.get(self.SCENE) not in (None, "")
        has_scenes = parameters.get(self.SCENES) not in (None, "")
        if has_scene == has_scenes:
            return False, tr("Give either a scene (SCENE) or a search result (SCENES), not both.") if has_scene \
                else tr("Give a scene (SCENE) or a search result to take it from (SCENES).")
        return super().checkParameterValues(parameters, context)

    def parameters_checked_at_run(self, parameters):
        # a SAFE product is no raster layer QGIS can load: the core opens it
        return (self.SCENE,) if self._scene_product(parameters) else ()

    def _scene_product(self, parameters) -> str:
        value = parameters.get(self.SCENE)
        return value if isinstance(value, str) and (is_safe_product(value) or is_eopf_product(value)) else ""

    def _scene_from_result(self, parameters, context, feedback, label_path: str) -> str:
        source = self.parameterAsSource(parameters, self.SCENES, context)
        if source is None:
            return ""
        names = source.fields().names()
        rows = [{name: feature[name] for name in RANK_COLUMNS if name in names}
                for feature in source.getFeatures()]
        rank = self.parameterAsInt(parameters, self.RANK, context)
        label = os.path.splitext(os.path.basename(label_path))[0]
        try:
            scene = scene_at_rank(rows, rank, label)
        except LabelMigrationError as error:
            raise QgsProcessingException(str(error)) from error
        feedback.pushInfo(tr("Scene of rank {} in the search result: {}").format(rank, scene))
        return scene

    def process(self, parameters, context, feedback):
        output_image = self.parameterAsOutputLayer(parameters, self.OUTPUT_IMAGE, context)
        output_label = self.parameterAsOutputLayer(parameters, self.OUTPUT_LABEL, context)
        label_path = self.raster_path(parameters, self.LABEL, context)
        scene_path = (self._scene_product(parameters)
                      or self._scene_from_result(parameters, context, feedback, label_path)
                      or self.raster_path(parameters, self.SCENE, context))
        result = self.run_core(
            crop_scene, feedback,
            scene_path=scene_path,
            label_path=label_path,
            output_image=output_image,
            output_label=output_label,
            bands=self.parameterAsInts(parameters, self.BANDS, context) or None,
            label_resampling=LABEL_RESAMPLING[self.parameterAsEnum(parameters, self.LABEL_RESAMPLING, context)],
            band_names=self.parameterAsNames(parameters, self.BAND_NAMES, context, spaces_separate=True),
            other_tiles=[path for path in self.parameterAsFileList(parameters, self.OTHER_TILES, context) if path],
            require_data=True,
        )
        feedback.pushInfo(tr("Pair of {} x {} pixels; label covered {:.1f}%, label pixels without image data {:.2f}%")
                          .format(result.window.width, result.window.height, result.covered_percent,
                                  result.nodata_percent))
        source = (self.raster_path(parameters, self.SOURCE_IMAGE, context)
                  if parameters.get(self.SOURCE_IMAGE) not in (None, "") else source_image_for(label_path))
        coregister, min_confidence = self.coregistration_choice(parameters, context)
        quality, warnings = assess_pair(output_image, output_label, None, source, coregister, min_confidence)
        for warning in warnings:
            feedback.reportError(warning, False)
        feedback.pushInfo(", ".join(f"{column} {quality[column] or '-'}" for _name, column in self.QUALITY_OUTPUTS))
        self.style_on_load(context, output_image, image_styler())
        self.style_on_load(context, output_label, label_styler(above=output_image))
        return {self.OUTPUT_IMAGE: output_image, self.OUTPUT_LABEL: output_label,
                "COVERED_PERCENT": result.covered_percent, "NODATA_PERCENT": result.nodata_percent,
                **{name: float(quality[column]) if quality[column] else None
                   for name, column in self.QUALITY_OUTPUTS}}
