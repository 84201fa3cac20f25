"""searchscenes: Sentinel-2 scenes for each label footprint, with the label-to-scene match table."""
import datetime as dt

from qgis.core import (QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFeature, QgsFeatureSink, QgsField,
                       QgsFields, QgsGeometry, QgsProcessing, QgsProcessingException, QgsProcessingParameterDateTime,
                       QgsProcessingParameterFeatureSink, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterField, QgsProcessingParameterFileDestination, QgsWkbTypes)
from qgis.PyQt.QtCore import QT_TR_NOOP, QDate, QDateTime, Qt

from ..core.net.connections import use_proxy
from ..core.search import LAYER_FIELDS, FootprintQuery, search_scenes, write_matches_csv
from ..qgis_common import field_types
from .algorithm import LabelMigrationAlgorithm, tr
from ..qgis_common.network import network_log, proxy_url
from .search_parameters import SearchParameters
from ..qgis_common.styles import footprint_styler

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")


class SearchScenesAlgorithm(SearchParameters, LabelMigrationAlgorithm):
    ALGORITHM_ID = "searchscenes"
    DISPLAY_NAME = QT_TR_NOOP("Search Sentinel-2 scenes")
    GROUP = QT_TR_NOOP("Scenes")
    HELP = QT_TR_NOOP(
        "Finds, for each label footprint, the Sentinel-2 scenes taken within a date window with little "
        "cloud, and records which scene belongs to which label.<br><br>"
        "<b>Footprints</b> (FOOTPRINTS): polygons, e.g. from <i>Label footprints</i>.<br>"
        "<b>Label field</b> (LABEL_FIELD): the field naming each label (default <i>label</i>, else the feature id).<br>"
        "<b>Date field</b> (DATE_FIELD): each label's date; or <b>Date</b> (DATE) for all labels.<br>"
        "<b>Days before</b> (DAYS_BEFORE) and <b>Days after</b> (DAYS_AFTER): the window around the label "
        "date (default 10 each, at most 3650).<br>"
        "<b>Maximum cloud cover</b> (MAX_CLOUD): scene cloud cover in % (default 30, as in <i>Migrate "
        "labels</i>, which rates the cloud over the label itself: a scene cloudy elsewhere is often clear over a "
        "label, so a strict scene-wide limit loses usable scenes). The scenes that pass are ranked by coverage, "
        "then cloud cover; give a lower value to list only the clearest scenes, for example before downloading "
        "the whole layer.<br>"
        "<b>Product</b> (PRODUCT): L1C (0) or L2A (1, default).<br>"
        "<b>Backend</b> (BACKEND): 0 Copernicus Data Space OData, 1 STAC API (Earth Search by default; "
        "Planetary Computer, CDSE STAC or ESA's EOPF Zarr catalogue https://stac.core.eopf.eodc.eu by URL), "
        "2 a DHuS hub (the public Copernicus hubs, the Copernicus Open Access Hub among them, closed in 2023; "
        "sentinelsat works only against the national mirrors that still run DHuS: give one's URL), 3 a local "
        "archive (a folder of SAFE products, "
        "zipped or not, or a static STAC catalog; URL is the folder). These numbers never change, so scripts "
        "and saved models keep their backend; the names work too: cdse-odata, stac, dhus, local "
        "(BACKEND=local).<br>"
        "<b>URL</b> (URL): the service address (default per backend) or the archive folder.<br>"
        "<b>Collection</b> (COLLECTION): the STAC collection (e.g. sentinel-2-l2a).<br>"
        "<b>Authentication</b> (AUTHCFG): a QGIS authentication configuration (user name and password) for "
        "services that need one; credentials are never stored in settings, logs or projects, and are sent "
        "only to the host of the service's URL.<br>"
        "Timeouts and the retry deadline are the plugin's settings (Settings > Options > Processing > "
        "Providers > Label Migration); a server that does not answer, or answers something that is not a "
        "catalogue's answer, ends the search with a message naming it.<br>"
        "<b>Scenes</b> (OUTPUT): scene footprints with id, title, backend, datetime, cloud_cover, tile, "
        "product_type, offset_days (scene time minus label date), coverage_pct (share of the label footprint "
        "the scene covers), label and rank (1 = best: coverage, then cloud, then |offset|).<br>"
        "<b>Match table</b> (OUTPUT_TABLE): CSV, one row per label-scene match.<br><br>"
        "Example: <code>qgis_process run labelmigration:searchscenes -- FOOTPRINTS=footprints.gpkg "
        "DATE_FIELD=date BACKEND=3 URL=/data/sentinel2 MAX_CLOUD=20 OUTPUT=scenes.gpkg "
        "OUTPUT_TABLE=matches.csv</code>"
    )

    FOOTPRINTS, LABEL_FIELD, DATE_FIELD, DATE = "FOOTPRINTS", "LABEL_FIELD", "DATE_FIELD", "DATE"
    # BACKEND, URL, COLLECTION, AUTHCFG, DAYS_BEFORE, DAYS_AFTER, MAX_CLOUD, PRODUCT: from SearchParameters
    OUTPUT, OUTPUT_TABLE = "OUTPUT", "OUTPUT_TABLE"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.FOOTPRINTS, tr("Footprints"), [QgsProcessing.SourceType.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            self.LABEL_FIELD, tr("Label field"), "label", self.FOOTPRINTS, optional=True))
        self.addParameter(QgsProcessingParameterField(
            self.DATE_FIELD, tr("Date field"), None, self.FOOTPRINTS, optional=True))
        self.addParameter(QgsProcessingParameterDateTime(
            self.DATE, tr("Date"), QgsProcessingParameterDateTime.Type.Date, optional=True))
        self.add_search_parameters()
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, tr("Scenes"), QgsProcessing.SourceType.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT_TABLE, tr("Match table"), tr("CSV files (*.csv)"), optional=True, createByDefault=True))

    def process(self, parameters, context, feedback):
        footprints = self._footprints(parameters, context)
        options = self.search_options(parameters, context)
        with self.core_errors():
            backend = options.make_backend()
        with use_proxy(proxy_url()), network_log(feedback):
            matches = self._search(options, feedback, footprints, backend)
        feedback.pushInfo(tr("{} matches for {} labels").format(len(matches), len(footprints)))
        return self._write(parameters, context, matches)

    def _search(self, options, feedback, footprints, backend):
        return self.run_core(search_scenes, feedback, footprints=footprints, backend=backend,
                             warn=feedback.pushWarning, **options.search_arguments())

    def _write(self, parameters, context, matches):
        sink, dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, SCENE_FIELDS,
                                             QgsWkbTypes.Type.MultiPolygon, WGS84)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        for match in matches:
            sink.addFeature(_scene_feature(match), QgsFeatureSink.Flag.FastInsert)
        results = {self.OUTPUT: dest_id}
        table = self.parameterAsFileOutput(parameters, self.OUTPUT_TABLE, context)
        if table:
            with self.core_errors():
                results[self.OUTPUT_TABLE] = write_matches_csv(table, matches)
            self.load_table_on_completion(context, table, tr("Label-scene matches"), self.OUTPUT_TABLE)
        self.style_on_load(context, dest_id, footprint_styler())
        return results

    def _footprints(self, parameters, context):
        source = self.parameterAsSource(parameters, self.FOOTPRINTS, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.FOOTPRINTS))
        label_field = self.parameterAsString(parameters, self.LABEL_FIELD, context)
        date_field = self.parameterAsString(parameters, self.DATE_FIELD, context)
        fixed_date = self.parameterAsDateTime(parameters, self.DATE, context)
        fixed = fixed_date.date().toPyDate() if fixed_date.isValid() else None
        to_wgs84 = QgsCoordinateTransform(source.sourceCrs(), WGS84, context.transformContext())
        names = source.fields().names()
        queries = []
        for feature in source.getFeatures():
            geometry = QgsGeometry(feature.geometry())
            if geometry.isEmpty():
                continue
            geometry.transform(to_wgs84)
            label = str(feature[label_field]) if label_field in names and feature[label_field] else str(feature.id())
            date = _as_date(feature[date_field]) if date_field in names else None
            queries.append(FootprintQuery(label=label, geometry_wkt=geometry.asWkt(), date=date or fixed))
        missing = [query.label for query in queries if query.date is None]
        if missing:
            raise QgsProcessingException(tr(
                "No date for the labels {}: give DATE, or a DATE_FIELD holding each label's date.").format(
                ", ".join(missing[:5]) + ("…" if len(missing) > 5 else "")))
        return queries


def _as_date(value):
    if isinstance(value, QDateTime) and value.isValid():
        return value.toPyDateTime().replace(tzinfo=dt.timezone.utc)
    if isinstance(value, QDate) and value.isValid():
        return value.toPyDate()
    if isinstance(value, str) and value:
        from ..core.util.dates import date_in_text
        return date_in_text(value)
    return None


def _fields() -> QgsFields:
    fields = QgsFields()
    for name, kind in LAYER_FIELDS:
        fields.append(QgsField(name, field_types.BY_TYPE_WORD[kind]))
    return fields


SCENE_FIELDS = _fields()


def _scene_feature(match) -> QgsFeature:
    scene = match.scene
    feature = QgsFeature(SCENE_FIELDS)
    if scene.footprint_wkt:
        geometry = QgsGeometry.fromWkt(scene.footprint_wkt)
        geometry.convertToMultiType()
        feature.setGeometry(geometry)
    moment = QDateTime(scene.datetime.replace(tzinfo=None))
    moment.setTimeSpec(Qt.TimeSpec.UTC)
    values = dict(match.layer_values(), datetime=moment)
    feature.setAttributes([values[name] for name, _kind in LAYER_FIELDS])
    return feature
