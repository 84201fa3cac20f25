"""migratelabels: a whole label set moved onto Sentinel-2 (best scene per label, aligned pairs, QA report)."""
from qgis.core import (QgsProcessing, QgsProcessingContext, QgsProcessingException, QgsProcessingOutputFile,
                       QgsProcessingOutputHtml, QgsProcessingOutputNumber, QgsProcessingOutputVectorLayer,
                       QgsProcessingParameterAuthConfig, QgsProcessingParameterDateTime, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from ..core.http import use_proxy
from ..core.migrate import DEFAULT_BANDS, MigrationOptions, migrate_labels
from ..core.search import BACKENDS
from ..core.search.base import PRODUCT_LEVELS
from .algorithm import LabelMigrationAlgorithm, tr
from .network import credentials, proxy_url
from .styles import footprint_styler

BACKEND_NAMES = list(BACKENDS)  # cdse-odata, stac, dhus, local


class MigrateLabelsAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "migratelabels"
    DISPLAY_NAME = "Migrate labels"
    GROUP = "Labels"
    HELP = (
        "Moves a whole label set onto Sentinel-2 in one run: for each label it searches the scenes around the "
        "label's date, chooses the one with the least cloud over the label itself (the SCL band of L2A "
        "products, read for the label's window only; otherwise the cloud model), then the smallest time "
        "offset, then the best coverage, and writes an aligned image/label pair. Tiles of one datatake are "
        "mosaicked when a label straddles them. A re-run skips the pairs that are complete and verified.<br><br>"
        "<b>Label folder</b> (LABELS): a folder of georeferenced label rasters (GeoTIFF), or PNG/JPEG labels "
        "each beside the georeferenced image it was drawn on, matched by name "
        "(<i>area1_label.png</i> with <i>area1_visual.tif</i>).<br>"
        "<b>Label files</b> (LABEL_FILES): or (also) a list of label files.<br>"
        "<b>Date pattern</b> (DATE_PATTERN): a regular expression finding the date in a file name; groups "
        "named year, month, day, or three groups in that order. Default: YYYYMMDD, YYYY-MM-DD or YYYY_MM_DD.<br>"
        "<b>Dates CSV</b> (DATES_CSV): or a CSV with the columns label,date.<br>"
        "<b>Date</b> (DATE): or one date for every label.<br>"
        "<b>Backend</b> (BACKEND): 0 Copernicus Data Space OData, 1 STAC API, 2 a DHuS hub, 3 a local archive "
        "(a folder of SAFE products; URL is the folder). OData and DHuS products are downloaded to "
        "OUTPUT_FOLDER/downloads (at most 4 at a time); STAC assets are read window by window.<br>"
        "<b>URL</b> (URL), <b>Collection</b> (COLLECTION), <b>Authentication</b> (AUTHCFG): as in "
        "<i>Search Sentinel-2 scenes</i>.<br>"
        "<b>Days before</b> (DAYS_BEFORE) and <b>Days after</b> (DAYS_AFTER): the search window (default 10).<br>"
        "<b>Maximum cloud cover</b> (MAX_CLOUD): scene cloud cover in % (default 30; the cloud over the label "
        "decides among the scenes that pass).<br>"
        "<b>Product</b> (PRODUCT): L1C (0) or L2A (1, default).<br>"
        "<b>Bands</b> (BANDS): the bands of the images, comma-separated (default B02,B03,B04,B08).<br>"
        "<b>Cloud model</b> (CLOUD_MODEL): an ONNX cloud model for scenes without SCL (default: the bundled "
        "model when installed; without one the scene cloud cover ranks them and the reason says so).<br>"
        "<b>Executor</b> (EXECUTOR): empty for the local pool, or a Dask scheduler address such as "
        "tcp://10.0.0.5:8786 (its workers need this plugin importable as <i>labelmigration</i> and the same "
        "paths).<br>"
        "<b>Workers</b> (WORKERS): threads of the local pool (0 = one per core).<br>"
        "<b>Output folder</b> (OUTPUT_FOLDER): receives images/&lt;label&gt;.tif, labels/&lt;label&gt;.tif, "
        "matches.csv (MATCHES), footprints.gpkg (FOOTPRINTS, loaded) and report.html (REPORT). PAIRS counts the "
        "complete pairs, FAILED the labels that failed (the reasons are in matches.csv and the report).<br><br>"
        "Example: <code>qgis_process run labelmigration:migratelabels -- LABELS=/data/labels BACKEND=3 "
        "URL=/data/sentinel2 DAYS_BEFORE=15 DAYS_AFTER=15 OUTPUT_FOLDER=/data/migrated</code>"
    )

    LABELS, LABEL_FILES, DATE_PATTERN, DATES_CSV, DATE = "LABELS", "LABEL_FILES", "DATE_PATTERN", "DATES_CSV", "DATE"
    BACKEND, URL, COLLECTION, AUTHCFG = "BACKEND", "URL", "COLLECTION", "AUTHCFG"
    DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD, PRODUCT, BANDS = "DAYS_BEFORE", "DAYS_AFTER", "MAX_CLOUD", "PRODUCT", "BANDS"
    CLOUD_MODEL, EXECUTOR, WORKERS, OUTPUT_FOLDER = "CLOUD_MODEL", "EXECUTOR", "WORKERS", "OUTPUT_FOLDER"
    MATCHES, FOOTPRINTS, REPORT, PAIRS, FAILED = "MATCHES", "FOOTPRINTS", "REPORT", "PAIRS", "FAILED"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            self.LABELS, tr("Label folder"), QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.LABEL_FILES, tr("Label files"), QgsProcessing.TypeFile, optional=True))
        self.addParameter(QgsProcessingParameterString(self.DATE_PATTERN, tr("Date pattern"), optional=True))
        self.addParameter(QgsProcessingParameterFile(
            self.DATES_CSV, tr("Dates CSV"), QgsProcessingParameterFile.File, "csv", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(
            self.DATE, tr("Date"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.BACKEND, tr("Backend"), [BACKENDS[name].label for name in BACKEND_NAMES], defaultValue=0))
        self.addParameter(QgsProcessingParameterString(self.URL, tr("URL"), optional=True))
        self.addParameter(QgsProcessingParameterString(self.COLLECTION, tr("Collection"), optional=True))
        self.addParameter(QgsProcessingParameterAuthConfig(self.AUTHCFG, tr("Authentication"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.DAYS_BEFORE, tr("Days before"), QgsProcessingParameterNumber.Integer, 10, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.DAYS_AFTER, tr("Days after"), QgsProcessingParameterNumber.Integer, 10, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_CLOUD, tr("Maximum cloud cover (%)"), QgsProcessingParameterNumber.Double, 30.0,
            minValue=0, maxValue=100))
        self.addParameter(QgsProcessingParameterEnum(self.PRODUCT, tr("Product"), list(PRODUCT_LEVELS), defaultValue=1))
        self.addParameter(QgsProcessingParameterString(self.BANDS, tr("Bands"), ",".join(DEFAULT_BANDS)))
        self.addParameter(QgsProcessingParameterFile(
            self.CLOUD_MODEL, tr("Cloud model"), QgsProcessingParameterFile.File, "onnx", optional=True))
        self.addParameter(QgsProcessingParameterString(self.EXECUTOR, tr("Executor (Dask scheduler address)"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.WORKERS, tr("Workers (0 = one per core)"), QgsProcessingParameterNumber.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.MATCHES, tr("Label-scene matches (CSV)")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.FOOTPRINTS, tr("Label footprints"),
                                                      QgsProcessing.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputHtml(self.REPORT, tr("QA report")))
        self.addOutput(QgsProcessingOutputNumber(self.PAIRS, tr("Complete pairs")))
        self.addOutput(QgsProcessingOutputNumber(self.FAILED, tr("Failed labels")))

    def processAlgorithm(self, parameters, context, feedback):
        folder = self.parameterAsString(parameters, self.LABELS, context).strip()
        files = [path for path in self.parameterAsFileList(parameters, self.LABEL_FILES, context) if path]
        if folder and files:
            raise QgsProcessingException(tr("Give either a label folder (LABELS) or label files (LABEL_FILES), "
                                            "not both."))
        if not folder and not files:
            raise QgsProcessingException(tr("No labels: give a label folder (LABELS) or label files (LABEL_FILES)."))
        date = self.parameterAsDateTime(parameters, self.DATE, context)
        options = MigrationOptions(
            backend=BACKEND_NAMES[self.parameterAsEnum(parameters, self.BACKEND, context)],
            url=self.parameterAsString(parameters, self.URL, context).strip() or None,
            collection=self.parameterAsString(parameters, self.COLLECTION, context).strip() or None,
            credentials=credentials(self.parameterAsString(parameters, self.AUTHCFG, context)),
            days_before=self.parameterAsInt(parameters, self.DAYS_BEFORE, context),
            days_after=self.parameterAsInt(parameters, self.DAYS_AFTER, context),
            max_cloud=self.parameterAsDouble(parameters, self.MAX_CLOUD, context),
            product=PRODUCT_LEVELS[self.parameterAsEnum(parameters, self.PRODUCT, context)],
            bands=self.parameterAsNames(parameters, self.BANDS, context, spaces_separate=True),
            date_pattern=self.parameterAsString(parameters, self.DATE_PATTERN, context) or None,
            dates_csv=self.parameterAsFile(parameters, self.DATES_CSV, context) or None,
            date=date.date().toPyDate() if date.isValid() else None,
            cloud_model=self.parameterAsFile(parameters, self.CLOUD_MODEL, context) or None,
            executor=self.parameterAsString(parameters, self.EXECUTOR, context).strip() or None,
            workers=self.parameterAsInt(parameters, self.WORKERS, context) or None,
        )
        output_folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        with use_proxy(proxy_url()):
            result = self.run_core(migrate_labels, feedback, labels=folder or files, options=options,
                                   output_folder=output_folder)
        counts = {status: sum(row["status"] == status for row in result.rows)
                  for status in ("done", "skipped", "failed", "no scene")}
        feedback.pushInfo(tr("{} labels: {} migrated, {} already done, {} failed, {} without a scene").format(
            len(result.rows), counts["done"], counts["skipped"], counts["failed"], counts["no scene"]))
        for row in result.rows:
            if row["status"] in ("failed", "no scene"):
                feedback.pushWarning(f"{row['label']}: {row['reason']}")
        footprints = result.footprints + "|layername=footprints"
        if context.project() is not None:
            context.addLayerToLoadOnCompletion(
                footprints, QgsProcessingContext.LayerDetails(tr("Label footprints"), context.project(),
                                                              self.FOOTPRINTS))
            self.style_on_load(context, footprints, footprint_styler())
        outputs = {self.OUTPUT_FOLDER: output_folder, self.MATCHES: result.matches, self.FOOTPRINTS: footprints,
                   self.PAIRS: result.pairs, self.FAILED: result.failed}
        if result.report:
            outputs[self.REPORT] = result.report
        return outputs
