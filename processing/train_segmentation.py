"""trainsegmentation: a multi-class U-Net trained from an exported dataset, in a separate Python process."""
from qgis.core import (QgsProcessingOutputNumber, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterNumber)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.segmentation_training.options import TrainingOptions
from ..core.segmentation_training.runner import card_path_for, train_segmentation
from .algorithm import LabelMigrationAlgorithm, tr


class TrainSegmentationAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "trainsegmentation"
    DISPLAY_NAME = QT_TR_NOOP("Train segmentation model")
    GROUP = QT_TR_NOOP("Models")
    HELP = QT_TR_NOOP(
        "Trains a multi-class U-Net on a dataset that <i>Export dataset for machine learning</i> wrote, and "
        "exports it as an ONNX model with Deepness-compatible metadata that <i>Segment with a model</i> runs. The "
        "training runs in a separate Python process (the Python QGIS runs) and needs PyTorch and onnx there: "
        "install them from Plugins > Label Migration > Python dependencies… (optional; PyTorch's CPU-only build, "
        "about 200 MB to download, 750 MB installed). Without them the run stops and says exactly what to "
        "install.<br><br>"
        "<b>Dataset folder</b> (DATASET): the OUTPUT folder of exportdataset. Its classes (label values), names "
        "and colours come from its STAC collection; the train split trains, the validation split picks the "
        "epoch kept (the best mean IoU), the test split gives the figures of the model card. Pixels that are "
        "nodata, cloud or cloud shadow in a chip's cloud mask are left out.<br>"
        "<b>Epochs</b> (EPOCHS), default 30: passes over the train chips; the log shows the loss and the "
        "validation mean IoU of each.<br>"
        "<b>Batch size</b> (BATCH_SIZE), default 8, and <b>Learning rate</b> (LEARNING_RATE), default 0.003 "
        "(the peak of a one-cycle schedule).<br>"
        "<b>Patch size</b> (PATCH_SIZE) in pixels, default 0: each train chip gives one random patch of this "
        "size per epoch (0 = the whole chip).<br>"
        "<b>Seed</b> (SEED), default 0: the same dataset and seed give the same model on the same machine.<br>"
        "<b>Model</b> (OUTPUT_MODEL): the ONNX file. Channel <i>c</i> of its output is label value <i>c</i>, so "
        "the class raster segment writes holds the dataset's values; its metadata carry the class names, the "
        "band names, the resolution, the tile size (the chip size) and the standardisation.<br>"
        "<b>Model card</b> (OUTPUT_CARD): a markdown file with the data, the settings and the per-class IoU, "
        "precision and recall on the test split, and what each figure is; default: beside the model, "
        "<code>&lt;model&gt;.md</code>.<br>"
        "Both files appear only once the training finished; cancelling stops the training process at once and "
        "writes nothing. BEST_EPOCH, VALIDATION_MEAN_IOU and TEST_MEAN_IOU give the figures.<br><br>"
        "Example: <code>qgis_process run labelmigration:trainsegmentation -- DATASET=/data/dataset EPOCHS=40 "
        "BATCH_SIZE=8 LEARNING_RATE=0.003 PATCH_SIZE=128 SEED=1 OUTPUT_MODEL=/data/model.onnx</code>"
    )

    DATASET, EPOCHS, BATCH_SIZE, LEARNING_RATE = "DATASET", "EPOCHS", "BATCH_SIZE", "LEARNING_RATE"
    PATCH_SIZE, SEED, OUTPUT_MODEL, OUTPUT_CARD = "PATCH_SIZE", "SEED", "OUTPUT_MODEL", "OUTPUT_CARD"
    FIGURES = {"BEST_EPOCH": QT_TR_NOOP("Epoch kept"), "VALIDATION_MEAN_IOU": QT_TR_NOOP("Validation mean IoU"),
               "TEST_MEAN_IOU": QT_TR_NOOP("Test mean IoU")}

    def initAlgorithm(self, config=None):
        defaults = TrainingOptions()
        integer, double = QgsProcessingParameterNumber.Type.Integer, QgsProcessingParameterNumber.Type.Double
        self.addParameter(QgsProcessingParameterFile(
            self.DATASET, tr("Dataset folder"), QgsProcessingParameterFile.Behavior.Folder))
        self.addParameter(QgsProcessingParameterNumber(
            self.EPOCHS, tr("Epochs"), integer, defaults.epochs, minValue=1, maxValue=10000))
        self.addParameter(QgsProcessingParameterNumber(
            self.BATCH_SIZE, tr("Batch size"), integer, defaults.batch_size, minValue=1, maxValue=1024))
        self.addParameter(QgsProcessingParameterNumber(
            self.LEARNING_RATE, tr("Learning rate"), double, defaults.learning_rate, minValue=1e-6, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.PATCH_SIZE, tr("Patch size (pixels, 0 = whole chips)"), integer, defaults.patch_size, minValue=0,
            maxValue=8192))
        self.addParameter(QgsProcessingParameterNumber(self.SEED, tr("Seed"), integer, defaults.seed, minValue=0))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_MODEL, tr("Model"), tr("ONNX models (*.onnx)")))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_CARD, tr("Model card"), tr("Markdown (*.md)"), optional=True, createByDefault=False))
        for name, text in self.FIGURES.items():
            self.addOutput(QgsProcessingOutputNumber(name, tr(text)))

    def process(self, parameters, context, feedback):
        options = TrainingOptions(
            epochs=self.parameterAsInt(parameters, self.EPOCHS, context),
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            learning_rate=self.parameterAsDouble(parameters, self.LEARNING_RATE, context),
            patch_size=self.parameterAsInt(parameters, self.PATCH_SIZE, context),
            seed=self.parameterAsInt(parameters, self.SEED, context))
        model = self.parameterAsFileOutput(parameters, self.OUTPUT_MODEL, context)
        card = self.parameterAsFileOutput(parameters, self.OUTPUT_CARD, context) or card_path_for(model)
        result = self.run_core(train_segmentation, feedback, dataset_folder=self.parameterAsFile(
            parameters, self.DATASET, context), output_model=model, output_card=card, options=options,
            log=feedback.pushInfo)
        summary = result.summary
        feedback.pushInfo(tr("Model {} (epoch {} kept); model card {}").format(
            result.model, summary["best_epoch"], result.card))
        outputs = {self.OUTPUT_MODEL: result.model, self.OUTPUT_CARD: result.card,
                   "BEST_EPOCH": summary["best_epoch"], "VALIDATION_MEAN_IOU": summary["validation_mean_iou"]}
        if summary.get("test_mean_iou") is not None:
            outputs["TEST_MEAN_IOU"] = summary["test_mean_iou"]
        return outputs
