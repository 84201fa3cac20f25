"""exportdataset: a migrated folder as a machine-learning dataset (chips, STAC, GeoParquet, blocked splits)."""
from qgis.core import (QgsCategorizedSymbolRenderer, QgsFillSymbol, QgsProcessing, QgsProcessingContext,
                       QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputFile, QgsProcessingOutputNumber,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterBoolean, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber, QgsRendererCategory)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.dataset.export import ExportOptions, export_dataset
from .algorithm import LabelMigrationAlgorithm, tr

SPLIT_COLOURS = {"train": "#1b9e77", "validation": "#d95f02", "test": "#7570b3"}


class ExportDatasetAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "exportdataset"
    DISPLAY_NAME = QT_TR_NOOP("Export dataset for machine learning")
    GROUP = QT_TR_NOOP("Labels")
    HELP = QT_TR_NOOP(
        "Cuts the image/label pairs of a <i>Migrate labels</i> output folder into chips that training frameworks "
        "read, with a STAC catalogue, a GeoParquet index and spatially blocked train/validation/test splits.<br><br>"
        "<b>Migrated folder</b> (INPUT): the OUTPUT_FOLDER of migratelabels (matches.csv, images/, labels/, and "
        "masks/ when it wrote cloud masks).<br>"
        "<b>Chip size</b> (CHIP_SIZE) in pixels, default 256, and <b>Overlap</b> (OVERLAP), the pixels shared "
        "by neighbouring chips, default 0: chips step by size minus overlap; the last chip of a row or column ends "
        "at the pair's edge, and a pair smaller than a chip gives one chip padded with nodata.<br>"
        "<b>Maximum nodata</b> (MAX_NODATA), % of the chip, default 50; <b>Maximum cloud</b> (MAX_CLOUD) and "
        "<b>Maximum cloud shadow</b> (MAX_SHADOW), % of the chip's pixels with data, default 20: chips above a "
        "threshold are dropped. Cloud and shadow come from the pair's cloud mask (1 cloud, 2 shadow); chips of a "
        "pair without one are not checked for cloud, and the log says so.<br>"
        "<b>Block size</b> (BLOCK_SIZE) in metres, default 10240: the splits are made of square blocks of this "
        "size; a chip belongs to the block holding its centre. <b>Train share</b> (TRAIN_SHARE), "
        "<b>Validation share</b> (VALIDATION_SHARE) and "
        "<b>Test share</b> (TEST_SHARE), default 70, 15 and 15, are the shares of the chips; "
        "blocks go to the split furthest below its share, in an order shuffled by <b>Seed</b> (SEED): the same "
        "input and seed always give the same splits. No two chips that touch or overlap fall in different "
        "splits: where they would, the train chip (or else the validation chip) is dropped.<br>"
        "<b>GeoParquet index</b> (GEOPARQUET), default on,: writes chips.parquet; it needs the Python package "
        "pyarrow (Plugins > Label Migration > Python dependencies…). Without it the rest is written and a "
        "warning says what to install.<br>"
        "<b>Dataset folder</b> (OUTPUT): a new or empty folder outside the migrated folder (an earlier export "
        "there is replaced once the new one is complete). It receives images/, labels/ and masks/ "
        "(cloud-optimised GeoTIFF chips, the pair's pixels unchanged), catalog.json (CATALOG: a STAC catalogue, "
        "one item per chip with the label extension, the assets image, labels and cloud_mask, its split and "
        "its provenance: source label, scene, time offset, cloud fraction, and shift and change scores where "
        "matches.csv has them), chips.parquet (INDEX) and chips.gpkg (CHIPS_LAYER: the chips' outlines by "
        "split, loaded from the dialog). CHIPS, TRAIN, VALIDATION and TEST count the chips.<br><br>"
        "Example: <code>qgis_process run labelmigration:exportdataset -- INPUT=/data/migrated CHIP_SIZE=256 "
        "OVERLAP=32 MAX_CLOUD=10 BLOCK_SIZE=5120 SEED=1 OUTPUT=/data/dataset</code>"
    )

    INPUT, CHIP_SIZE, OVERLAP, OUTPUT = "INPUT", "CHIP_SIZE", "OVERLAP", "OUTPUT"
    MAX_NODATA, MAX_CLOUD, MAX_SHADOW = "MAX_NODATA", "MAX_CLOUD", "MAX_SHADOW"
    BLOCK_SIZE, SEED, GEOPARQUET = "BLOCK_SIZE", "SEED", "GEOPARQUET"
    SHARES = ("TRAIN_SHARE", "VALIDATION_SHARE", "TEST_SHARE")
    CATALOG, INDEX, CHIPS_LAYER, CHIPS = "CATALOG", "INDEX", "CHIPS_LAYER", "CHIPS"
    COUNTS = ("TRAIN", "VALIDATION", "TEST")
    EXCLUSIVE_OUTPUT_FOLDERS = (OUTPUT,)

    def initAlgorithm(self, config=None):
        defaults = ExportOptions()
        integer, double = QgsProcessingParameterNumber.Type.Integer, QgsProcessingParameterNumber.Type.Double
        self.addParameter(QgsProcessingParameterFile(
            self.INPUT, tr("Migrated folder"), QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterNumber(
            self.CHIP_SIZE, tr("Chip size (pixels)"), integer, defaults.chip_size, minValue=8, maxValue=8192))
        self.addParameter(QgsProcessingParameterNumber(
            self.OVERLAP, tr("Overlap (pixels)"), integer, defaults.overlap, minValue=0, maxValue=8191))
        for name, text, value in ((self.MAX_NODATA, tr("Maximum nodata (%)"), defaults.max_nodata_pct),
                                  (self.MAX_CLOUD, tr("Maximum cloud (%)"), defaults.max_cloud_pct),
                                  (self.MAX_SHADOW, tr("Maximum cloud shadow (%)"), defaults.max_shadow_pct)):
            self.addParameter(QgsProcessingParameterNumber(name, text, double, value, minValue=0, maxValue=100))
        self.addParameter(QgsProcessingParameterNumber(
            self.BLOCK_SIZE, tr("Split block size (m)"), double, defaults.block_size_m, minValue=1))
        for name, text, value in zip(self.SHARES, (tr("Train share"), tr("Validation share"), tr("Test share")),
                                     defaults.fractions):
            self.addParameter(QgsProcessingParameterNumber(name, text, double, 100 * value, minValue=0, maxValue=100))
        self.addParameter(QgsProcessingParameterNumber(self.SEED, tr("Seed"), integer, defaults.seed, minValue=0))
        self.addParameter(QgsProcessingParameterBoolean(self.GEOPARQUET, tr("GeoParquet index"), True))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("Dataset folder")))
        self.addOutput(QgsProcessingOutputFile(self.CATALOG, tr("STAC catalogue")))
        self.addOutput(QgsProcessingOutputFile(self.INDEX, tr("GeoParquet index")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.CHIPS_LAYER, tr("Chips"),
                                                      QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputNumber(self.CHIPS, tr("Chips")))
        for name, text in zip(self.COUNTS, (tr("Train chips"), tr("Validation chips"), tr("Test chips"))):
            self.addOutput(QgsProcessingOutputNumber(name, text))

    def process(self, parameters, context, feedback):
        options = ExportOptions(
            chip_size=self.parameterAsInt(parameters, self.CHIP_SIZE, context),
            overlap=self.parameterAsInt(parameters, self.OVERLAP, context),
            max_nodata_pct=self.parameterAsDouble(parameters, self.MAX_NODATA, context),
            max_cloud_pct=self.parameterAsDouble(parameters, self.MAX_CLOUD, context),
            max_shadow_pct=self.parameterAsDouble(parameters, self.MAX_SHADOW, context),
            block_size_m=self.parameterAsDouble(parameters, self.BLOCK_SIZE, context),
            fractions=tuple(self.parameterAsDouble(parameters, name, context) for name in self.SHARES),
            seed=self.parameterAsInt(parameters, self.SEED, context),
            geoparquet=self.parameterAsBool(parameters, self.GEOPARQUET, context),
        )
        output = self.parameterAsString(parameters, self.OUTPUT, context)
        result = self.run_core(export_dataset, feedback, migrated_folder=self.parameterAsFile(
            parameters, self.INPUT, context), output_folder=output, options=options)
        feedback.pushInfo(tr("{} chips from {} pairs: {} train, {} validation, {} test; dropped: {}").format(
            result.chips, result.pairs, result.splits["train"], result.splits["validation"], result.splits["test"],
            ", ".join(f"{count} {reason}" for reason, count in result.dropped.items())))
        if context.project() is not None:
            context.addLayerToLoadOnCompletion(result.layer, QgsProcessingContext.LayerDetails(
                tr("Dataset chips"), context.project(), self.CHIPS_LAYER))
            self.style_on_load(context, result.layer, _SplitStyler())
        outputs = {self.OUTPUT: output, self.CATALOG: result.catalog, self.CHIPS_LAYER: result.layer,
                   self.CHIPS: result.chips}
        splits = ("train", "validation", "test")
        outputs.update({name: result.splits[split] for name, split in zip(self.COUNTS, splits)})
        if result.index:
            outputs[self.INDEX] = result.index
        return outputs


class _SplitStyler(QgsProcessingLayerPostProcessorInterface):
    """The chips coloured by split."""

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS's name)
        categories = []
        for split, colour in SPLIT_COLOURS.items():
            symbol = QgsFillSymbol.createSimple({"color": colour + "66", "outline_color": colour})
            categories.append(QgsRendererCategory(split, symbol, split))
        layer.setRenderer(QgsCategorizedSymbolRenderer("split", categories))
        layer.triggerRepaint()
