"""migratelabels: a whole label set moved onto Sentinel-2 (best scene per label, aligned pairs, QA report)."""
import logging
import os
from typing import Optional

from qgis.core import (QgsProcessing, QgsProcessingContext, QgsProcessingException, QgsProcessingOutputFile,
                       QgsProcessingOutputHtml, QgsProcessingOutputNumber, QgsProcessingOutputVectorLayer,
                       QgsProcessingParameterDateTime, QgsProcessingParameterDefinition, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterBoolean,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP
from qgis.core import QgsProcessingOutputFolder

from ..core.net.connections import use_proxy
from ..core.migration.options import DEFAULT_BANDS, DEFAULT_CLOUD_MODEL, MAX_WORKERS, MigrationOptions
from ..core.migration.run import migrate_labels, no_pairs_message
from ..core.dataset.export import ExportOptions, export_dataset
from ..qgis_common.network import network_log, proxy_url
from ..qgis_common.results_group import ResultsGroupLoader
from .algorithm import LabelMigrationAlgorithm, tr
from .coregistration_parameters import CoregistrationParameters
from .input_scaling_parameter import WARNINGS, add_input_scaling, input_scaling_choice
from .search_parameters import SearchParameters

LOG = logging.getLogger(__name__)


class MigrateLabelsAlgorithm(CoregistrationParameters, SearchParameters,  # the parameter mixins first
                             LabelMigrationAlgorithm):
    ALGORITHM_ID = "migratelabels"
    DISPLAY_NAME = QT_TR_NOOP("Migrate labels")
    GROUP = QT_TR_NOOP("Labels")
    HELP = QT_TR_NOOP(
        "Moves a whole label set onto Sentinel-2 in one run: for each label it searches the scenes around the "
        "label's date, chooses the one with the least cloud and cloud shadow over the label itself (the SCL band "
        "of L2A products, read for the label's window only; otherwise the cloud model, with its shadow class "
        "when it has one), then the smallest time "
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
        "<b>Backend</b> (BACKEND): 0 Copernicus Data Space OData, 1 STAC API, 2 a DHuS hub (the public "
        "Copernicus hubs, the Copernicus Open Access Hub among them, closed in 2023; sentinelsat works only "
        "against a national mirror that still runs DHuS, given by URL), 3 a local archive "
        "(a folder of SAFE products; URL is the folder); these numbers never change, and the names work too: "
        "cdse-odata, stac, dhus, local (BACKEND=local). OData and DHuS products "
        "are downloaded to OUTPUT_FOLDER/downloads (at most 4 at a time); STAC assets are read window by window, "
        "the items of ESA's EOPF catalogue (https://stac.core.eopf.eodc.eu) from their Zarr products, only the "
        "chunks under each label; the JP2 band files of CDSE STAC items (https://stac.dataspace.copernicus.eu/v1/) "
        "through their HTTPS alternates with the Copernicus Data Space token of AUTHCFG (at most 4 requests to "
        "CDSE at once).<br>"
        "<b>URL</b> (URL), <b>Collection</b> (COLLECTION), <b>Authentication</b> (AUTHCFG): as in "
        "<i>Search Sentinel-2 scenes</i>.<br>"
        "<b>Download URL</b> (DOWNLOAD_URL) and <b>Token URL</b> (TOKEN_URL), advanced: for BACKEND 0 "
        "(Copernicus Data Space OData) and CDSE STAC assets, the download service's base address (the part "
        "before /Products(&lt;Id&gt;)/$value) and the OpenID token endpoint of a private or test deployment. "
        "Default: the public Copernicus Data Space addresses.<br>"
        "<b>Days before</b> (DAYS_BEFORE) and <b>Days after</b> (DAYS_AFTER): the search window (default 10, at "
        "most 3650).<br>"
        "<b>Maximum cloud cover</b> (MAX_CLOUD): scene cloud cover in %, a first filter (default 30, as in "
        "<i>Search Sentinel-2 scenes</i>): the cloud over the label decides among the scenes that pass, and a "
        "scene cloudy elsewhere is often clear over the label, so a strict scene-wide limit loses usable "
        "scenes.<br>"
        "<b>Product</b> (PRODUCT): L1C (0) or L2A (1, default).<br>"
        "<b>Bands</b> (BANDS): the bands of the images, comma-separated (default B02,B03,B04,B08).<br>"
        "<b>Landsat</b>: with BACKEND=stac and COLLECTION=landsat-c2-l2 (Landsat 8/9 Collection 2 Level-2, "
        "Planetary Computer or Earth Search) the labels migrate onto Landsat: B01 B02 B03 B04 B08 (or B8A) B11 "
        "B12 map to the assets coastal blue green red nir08 swir16 swir22 (common names work too; the red-edge "
        "bands B05-B07, B09 and B10 have no Landsat counterpart and fail the label); pairs lie on the 30 m grid; "
        "the images keep Landsat DN (uint16, nodata 0) with each band's scale and offset to surface reflectance "
        "(reflectance = DN * 0.0000275 - 0.2, or the item's raster:bands) in the GeoTIFF and the metadata "
        "PIXEL_VALUES; qa_pixel's cloud, dilated cloud, cirrus and cloud shadow bits rate the cloud over the "
        "label in place of SCL; the scene's tile is its WRS-2 path/row (PPP/RRR).<br>"
        "<b>Input scaling</b> (INPUT_SCALING): what the scenes' values are for the cloud model: 0 = automatic, "
        "1 = raw DN, 2 = reflectance 0-1, 3 = 8-bit 0-255 (as in cloudmask). WARNINGS lists the run's warnings.<br>"
        "<b>Cloud model</b> (CLOUD_MODEL): an ONNX cloud model for scenes without SCL (default: the bundled "
        "model when installed; without one the scene cloud cover ranks them and the reason says so). Its class "
        "names say which class is cloud and which cloud shadow, as in cloudmask.<br>"
        "<b>Cloud masks</b> (CLOUD_MASKS): writes OUTPUT_FOLDER/masks/&lt;label&gt;.tif per pair (1 cloud, "
        "2 cloud shadow, 0 clear, 255 nodata, on the pair's grid) with the cloud model (the one rating already ran "
        "on the same crop is reused; shadow where the model has a shadow class), or, without a model, from the "
        "SCL band of L2A products (classes 8, 9, 10 cloud, 3 cloud shadow); a Landsat pair's mask always comes "
        "from its qa_pixel band (dilated cloud, cirrus and cloud bits 1, cloud shadow 2). Default: on when a "
        "cloud model is installed; the log says which source was used.<br>"
        "<b>Co-register</b> (COREGISTER): 0 (default) measures the shift between each label's source image and "
        "the Sentinel-2 pair by sub-pixel phase correlation (matches.csv shift_x_m, shift_y_m in metres, "
        "shift_confidence 0 to 1; empty when unknown); 1 also moves the label by minus the shift when "
        "shift_confidence is MIN_SHIFT_CONFIDENCE (default 0.5) or more (label_moved_m). A label's source "
        "image: the reference raster of a PNG/JPEG label, else a raster named as the label in SOURCE_IMAGES, "
        "else &lt;label&gt;_source.tif beside the label. Every pair also gets a change_score (0: the Sentinel-2 "
        "pixels still fit the label); the report lists the outliers under 'Check these labels'.<br>"
        "<b>Minimum shift confidence</b> (MIN_SHIFT_CONFIDENCE), advanced: the shift_confidence (0 to 1, "
        "default 0.5) from which COREGISTER=1 moves a label; raise it to move only on a clear match.<br>"
        "<b>Source images</b> (SOURCE_IMAGES): a folder of the labels' source images, named as the labels.<br>"
        "<b>Executor</b> (EXECUTOR): empty for the local pool, or a Dask scheduler address such as "
        "tcp://10.0.0.5:8786 (its workers need this plugin importable as <i>labelmigration</i> and the same "
        "paths; each worker process logs in to CDSE and keeps to its 4 connections on its own, so run one worker "
        "process per machine for CDSE).<br>"
        "<b>Workers</b> (WORKERS): threads of the local pool (0 = one per core, at most 256).<br>"
        "<b>Export dataset</b> (EXPORT_DATASET), default off: after the run, exports the pairs as a machine-learning "
        "dataset into OUTPUT_FOLDER/dataset (DATASET) with the defaults of <i>Export dataset for machine "
        "learning</i> (exportdataset): 256-pixel chips, STAC catalogue, GeoParquet index, blocked splits.<br>"
        "<b>Output folder</b> (OUTPUT_FOLDER): receives images/&lt;label&gt;.tif, labels/&lt;label&gt;.tif, "
        "matches.csv (MATCHES; footprint_cloud_pct counts cloud and cloud shadow over the label, "
        "footprint_shadow_pct the shadow part of it), footprints.gpkg (FOOTPRINTS, with a second layer 'scenes': "
        "the chosen scenes' "
        "footprints) and report.html (REPORT). From the dialog the results load as a layer group "
        "'Label migration: &lt;folder&gt;': label footprints, chosen scenes, and the pairs (image, label, cloud "
        "mask; at most 50, in collapsed sub-groups). PAIRS counts the "
        "complete pairs, FAILED the labels that failed (the reasons are in matches.csv and the report). A run in "
        "which no label got a pair fails; its matches.csv and report still say why. Labels whose names cannot be "
        "file names as they are get a safe file name (the log and matches.csv name it).<br><br>"
        "Example: <code>qgis_process run labelmigration:migratelabels -- LABELS=/data/labels BACKEND=3 "
        "URL=/data/sentinel2 DAYS_BEFORE=15 DAYS_AFTER=15 OUTPUT_FOLDER=/data/migrated</code>"
    )

    LABELS, LABEL_FILES, DATE_PATTERN, DATES_CSV, DATE = "LABELS", "LABEL_FILES", "DATE_PATTERN", "DATES_CSV", "DATE"
    # BACKEND, URL, COLLECTION, AUTHCFG, DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD, PRODUCT: from SearchParameters
    DOWNLOAD_URL, TOKEN_URL, BANDS = "DOWNLOAD_URL", "TOKEN_URL", "BANDS"
    CLOUD_MODEL, EXECUTOR, WORKERS, OUTPUT_FOLDER = "CLOUD_MODEL", "EXECUTOR", "WORKERS", "OUTPUT_FOLDER"
    CLOUD_MASKS = "CLOUD_MASKS"
    EXPORT_DATASET, DATASET = "EXPORT_DATASET", "DATASET"
    SOURCE_IMAGES = "SOURCE_IMAGES"  # COREGISTER, MIN_SHIFT_CONFIDENCE: from CoregistrationParameters
    MATCHES, FOOTPRINTS, REPORT, PAIRS, FAILED = "MATCHES", "FOOTPRINTS", "REPORT", "PAIRS", "FAILED"
    # the run writes images/<label>.tif, labels/<label>.tif, matches.csv ... there: no input may lie inside
    EXCLUSIVE_OUTPUT_FOLDERS = (OUTPUT_FOLDER,)

    def extra_input_folders(self, parameters, context):
        """The local archive (URL when BACKEND is the local archive): never nested with OUTPUT_FOLDER."""
        if parameters.get(self.BACKEND) in (None, "") or \
                self.backend_name(parameters, context) != "local":
            return []
        url = self.parameterAsString(parameters, self.URL, context).strip()
        folder = url[len("file://"):] if url.startswith("file://") else url
        return [(self.URL, folder)] if folder else []

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            self.LABELS, tr("Label folder"), QgsProcessingParameterFile.Behavior.Folder, optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.LABEL_FILES, tr("Label files"), QgsProcessing.SourceType.TypeFile, optional=True))
        self.addParameter(QgsProcessingParameterString(self.DATE_PATTERN, tr("Date pattern"), optional=True))
        self.addParameter(QgsProcessingParameterFile(
            self.DATES_CSV, tr("Dates CSV"), QgsProcessingParameterFile.Behavior.File, "csv", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(
            self.DATE, tr("Date"), QgsProcessingParameterDateTime.Type.Date, optional=True))
        self.add_service_parameters()
        for name, description in ((self.DOWNLOAD_URL, tr("Download URL")), (self.TOKEN_URL, tr("Token URL"))):
            parameter = QgsProcessingParameterString(name, description, optional=True)
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
            self.addParameter(parameter)
        self.add_window_parameters()
        self.addParameter(QgsProcessingParameterString(self.BANDS, tr("Bands"), ",".join(DEFAULT_BANDS)))
        self.addParameter(QgsProcessingParameterFile(
            self.CLOUD_MODEL, tr("Cloud model"), QgsProcessingParameterFile.Behavior.File, "onnx", optional=True))
        self.addParameter(QgsProcessingParameterBoolean(
            self.CLOUD_MASKS, tr("Write a cloud mask per pair"), os.path.isfile(DEFAULT_CLOUD_MODEL), optional=True))
        self.add_coregistration_parameters()
        self.addParameter(QgsProcessingParameterFile(
            self.SOURCE_IMAGES, tr("Source images (folder)"), QgsProcessingParameterFile.Behavior.Folder,
            optional=True))
        self.addParameter(QgsProcessingParameterString(self.EXECUTOR, tr("Executor (Dask scheduler address)"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.WORKERS, tr("Workers (0 = one per core)"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0,
            maxValue=MAX_WORKERS))
        self.addParameter(QgsProcessingParameterBoolean(
            self.EXPORT_DATASET, tr("Export a dataset for machine learning"), False, optional=True))
        self.addOutput(QgsProcessingOutputFolder(self.DATASET, tr("Dataset folder")))
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile(self.MATCHES, tr("Label-scene matches (CSV)")))
        self.addOutput(QgsProcessingOutputVectorLayer(self.FOOTPRINTS, tr("Label footprints"),
                                                      QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputHtml(self.REPORT, tr("QA report")))
        self.addOutput(QgsProcessingOutputNumber(self.PAIRS, tr("Complete pairs")))
        self.addOutput(QgsProcessingOutputNumber(self.FAILED, tr("Failed labels")))
        add_input_scaling(self)

    def process(self, parameters, context, feedback):
        folder = self.parameterAsString(parameters, self.LABELS, context).strip()
        files = [path for path in self.parameterAsFileList(parameters, self.LABEL_FILES, context) if path]
        if folder and files:
            raise QgsProcessingException(tr("Give either a label folder (LABELS) or label files (LABEL_FILES), "
                                            "not both."))
        if not folder and not files:
            raise QgsProcessingException(tr("No labels: give a label folder (LABELS) or label files (LABEL_FILES)."))
        date = self.parameterAsDateTime(parameters, self.DATE, context)
        coregister, min_shift_confidence = self.coregistration_choice(parameters, context)
        options = MigrationOptions(
            **self.search_options(parameters, context).as_dict(),
            bands=self.parameterAsNames(parameters, self.BANDS, context, spaces_separate=True),
            date_pattern=self.parameterAsString(parameters, self.DATE_PATTERN, context) or None,
            dates_csv=self.parameterAsFile(parameters, self.DATES_CSV, context) or None,
            date=date.date().toPyDate() if date.isValid() else None,
            cloud_model=self.parameterAsFile(parameters, self.CLOUD_MODEL, context) or None,
            input_scaling=input_scaling_choice(self, parameters, context),
            executor=self.parameterAsString(parameters, self.EXECUTOR, context).strip() or None,
            workers=self.parameterAsInt(parameters, self.WORKERS, context) or None,
            cloud_masks=self._cloud_masks(parameters, context),
            download_url=self.parameterAsString(parameters, self.DOWNLOAD_URL, context).strip() or None,
            token_url=self.parameterAsString(parameters, self.TOKEN_URL, context).strip() or None,
            coregister=coregister, min_shift_confidence=min_shift_confidence,
            source_images=self.parameterAsFile(parameters, self.SOURCE_IMAGES, context) or None,
        )
        output_folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        with use_proxy(proxy_url()), network_log(feedback):
            result = self.run_core(migrate_labels, feedback, labels=folder or files, options=options,
                                   output_folder=output_folder)
        counts = {status: sum(row["status"] == status for row in result.rows)
                  for status in ("done", "skipped", "failed", "no scene")}
        feedback.pushInfo(tr("{} labels: {} migrated, {} already done, {} failed, {} without a scene").format(
            len(result.rows), counts["done"], counts["skipped"], counts["failed"], counts["no scene"]))
        for row in result.rows:
            if row["status"] in ("failed", "no scene"):
                feedback.pushWarning(f"{row['label']}: {row['reason']}")
        failure = no_pairs_message(result)
        if failure:  # matches.csv, footprints.gpkg and the report stay: they say why
            raise QgsProcessingException(failure)
        if result.mask_source:
            feedback.pushInfo(tr("Cloud masks (masks/<label>.tif) made from {}.").format(result.mask_source))
        footprints = result.footprints + "|layername=footprints"
        if context.project() is not None:
            context.addLayerToLoadOnCompletion(
                footprints, QgsProcessingContext.LayerDetails(tr("Label footprints"), context.project(),
                                                              self.FOOTPRINTS))
            # the group (scenes, pairs, masks) is built after the run, in the main thread, when the
            # footprints load: QGIS's way to load more than the declared outputs
            self.style_on_load(context, footprints, ResultsGroupLoader(output_folder))
        outputs = {self.OUTPUT_FOLDER: output_folder, self.MATCHES: result.matches, self.FOOTPRINTS: footprints,
                   self.PAIRS: result.pairs, self.FAILED: result.failed, WARNINGS: "\n".join(result.warnings)}
        if result.report:
            outputs[self.REPORT] = result.report
        if self.parameterAsBool(parameters, self.EXPORT_DATASET, context):
            outputs[self.DATASET] = self._export_dataset(output_folder, feedback)
        return outputs

    def _export_dataset(self, output_folder: str, feedback) -> Optional[str]:
        """exportdataset's defaults into OUTPUT_FOLDER/dataset; a dataset that cannot be made is a warning (the
        pairs stand without it)."""
        feedback.setProgressText(tr("Exporting the dataset…"))
        try:
            exported = self.run_core(export_dataset, feedback, migrated_folder=output_folder,
                                     output_folder=os.path.join(output_folder, "dataset"), options=ExportOptions())
        except QgsProcessingException as error:
            if feedback.isCanceled():
                raise
            feedback.pushWarning(tr("No dataset was exported: {}").format(error))
            return None
        feedback.pushInfo(tr("Dataset: {} chips ({} train, {} validation, {} test) in {}").format(
            exported.chips, exported.splits["train"], exported.splits["validation"], exported.splits["test"],
            exported.output_folder))
        return exported.output_folder

    def _cloud_masks(self, parameters, context) -> Optional[bool]:
        """CLOUD_MASKS as given; when left out, on whenever a cloud model is given or bundled."""
        if parameters.get(self.CLOUD_MASKS) in (None, ""):
            return None
        return self.parameterAsBool(parameters, self.CLOUD_MASKS, context)
