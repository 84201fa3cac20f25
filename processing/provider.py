"""The Label Migration Processing provider: it only lists the algorithms."""
from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import settings
from ..core.util.plugin_files import ICON_FILE
from .algorithm import tr
from .cloud_mask import CloudMaskAlgorithm
from .crop_scene import CropSceneAlgorithm
from .download_scenes import DownloadScenesAlgorithm
from .evaluate_segmentation import EvaluateSegmentationAlgorithm
from .export_dataset import ExportDatasetAlgorithm
from .geocode_mask import GeocodeMaskAlgorithm
from .mask_footprint import MaskFootprintAlgorithm
from .migrate_labels import MigrateLabelsAlgorithm
from .rasterize_labels import RasterizeLabelsAlgorithm
from .safe_to_geotiff import SafeToGeoTiffAlgorithm
from .search_scenes import SearchScenesAlgorithm
from .segment import SegmentAlgorithm
from .stack_bands import StackBandsAlgorithm
from .train_segmentation import TrainSegmentationAlgorithm

ALGORITHMS = (GeocodeMaskAlgorithm, MaskFootprintAlgorithm, CropSceneAlgorithm, StackBandsAlgorithm,
              SafeToGeoTiffAlgorithm, SearchScenesAlgorithm, DownloadScenesAlgorithm, EvaluateSegmentationAlgorithm,
              CloudMaskAlgorithm, SegmentAlgorithm, RasterizeLabelsAlgorithm, MigrateLabelsAlgorithm,
              ExportDatasetAlgorithm, TrainSegmentationAlgorithm)
PROVIDER_ID = "labelmigration"


class LabelMigrationProvider(QgsProcessingProvider):
    def id(self) -> str:
        return PROVIDER_ID

    def name(self) -> str:
        return tr("Label Migration")

    def longName(self) -> str:
        return tr("Label Migration: move labels onto Sentinel-2 imagery")

    def icon(self) -> QIcon:
        return QIcon(ICON_FILE)

    def load(self) -> bool:
        settings.register(self.name())
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        settings.unregister()

    def loadAlgorithms(self) -> None:
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())

    def supportedOutputRasterLayerExtensions(self):
        return ["tif"]

    def defaultRasterFileExtension(self) -> str:
        return "tif"
