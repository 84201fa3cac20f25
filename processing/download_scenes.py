"""downloadscenes: the products (or only the needed assets) of scenes found by searchscenes."""
from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingParameterAuthConfig, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.net.cdse import CDSE_TOKEN_URL
from ..core.net.connections import use_proxy
from ..core.net.parallel_downloads import download_many
from ..core.net.scene_downloads import SceneCredentials, scene_jobs
from .algorithm import LabelMigrationAlgorithm, tr
from ..qgis_common.network import auth_url, credentials, network_log, proxy_url
from .parameter_checks import parameter_paths


class DownloadScenesAlgorithm(LabelMigrationAlgorithm):
    ALGORITHM_ID = "downloadscenes"
    DISPLAY_NAME = QT_TR_NOOP("Download scenes")
    GROUP = QT_TR_NOOP("Scenes")
    HELP = QT_TR_NOOP(
        "Downloads the scenes of a layer made by <i>Search Sentinel-2 scenes</i> (all features, or only the "
        "selected ones): whole products, or only the named assets of STAC scenes (Cloud-Optimised GeoTIFFs). "
        "Downloads resume after a cut connection, retry on 429/503 honouring Retry-After, run at most 4 at a "
        "time, are verified by the catalogue's checksum (MD5, SHA-256, BLAKE3 when the blake3 package is "
        "installed) or size, and appear under their final name only when complete. Products kept in a "
        "long-term archive (offline) are reported, not treated as errors.<br><br>"
        "<b>Scenes</b> (SCENES): the scene layer.<br>"
        "<b>Folder</b> (FOLDER): where the files go: &lt;title&gt;.zip for products, "
        "&lt;id&gt;/&lt;asset&gt;.&lt;ext&gt; for assets (names from the layer are made safe file names; "
        "nothing is written outside the folder). A download must be what was asked for: an HTML page or "
        "JSON instead of a zip or GeoTIFF is refused.<br>"
        "<b>Assets</b> (ASSETS): comma-separated STAC asset names (e.g. <code>blue,green,red,nir,scl</code>); "
        "empty = the whole product.<br>"
        "<b>Authentication</b> (AUTHCFG): a QGIS authentication configuration with the account's user name "
        "and password (Copernicus Data Space: a bearer token is fetched and refreshed before it expires; "
        "DHuS: HTTP Basic). Never stored in settings, logs or projects. The credentials go only to the "
        "servers they belong to: for Copernicus Data Space scenes the *.dataspace.copernicus.eu hosts and "
        "the token URL's host; the server in the configuration's URL field; the server of URL. Any other "
        "host named by the layer gets none (the log says so).<br>"
        "<b>Token URL</b> (TOKEN_URL): the Copernicus Data Space token endpoint (default the public one).<br>"
        "<b>Server of the account</b> (URL): the address of the service the credentials are for, when the "
        "authentication configuration has no URL.<br>"
        "Timeouts and the retry deadline are the plugin's settings (Settings > Options > Processing > "
        "Providers > Label Migration).<br>"
        "DOWNLOADED lists the files written; OFFLINE the products that must first be restored.<br><br>"
        "Example: <code>qgis_process run labelmigration:downloadscenes -- SCENES=scenes.gpkg "
        "FOLDER=/data/sentinel2 AUTHCFG=ab12cde</code>"
    )

    SCENES, FOLDER, ASSETS, AUTHCFG, TOKEN_URL, URL = "SCENES", "FOLDER", "ASSETS", "AUTHCFG", "TOKEN_URL", "URL"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.SCENES, tr("Scenes"), [QgsProcessing.SourceType.TypeVector]))
        self.addParameter(QgsProcessingParameterFolderDestination(self.FOLDER, tr("Folder")))
        self.addParameter(QgsProcessingParameterString(self.ASSETS, tr("Assets"), optional=True))
        self.addParameter(QgsProcessingParameterAuthConfig(self.AUTHCFG, tr("Authentication"), optional=True))
        self.addParameter(QgsProcessingParameterString(self.TOKEN_URL, tr("Token URL"), CDSE_TOKEN_URL, optional=True))
        self.addParameter(QgsProcessingParameterString(self.URL, tr("Server of the account"), optional=True))
        self.addOutput(QgsProcessingOutputString("DOWNLOADED", tr("Downloaded files")))
        self.addOutput(QgsProcessingOutputString("OFFLINE", tr("Offline products")))
        self.addOutput(QgsProcessingOutputNumber("COUNT", tr("Number of files")))

    def process(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, self.SCENES, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.SCENES))
        folder = self.parameterAsString(parameters, self.FOLDER, context)
        rows = [_attributes(feature) for feature in source.getFeatures()]
        inputs = parameter_paths(self.parameterDefinitions(), parameters, context).inputs
        with self.core_errors():
            jobs = scene_jobs(rows, folder, self.parameterAsNames(parameters, self.ASSETS, context) or [], inputs,
                              self._credentials(parameters, context, feedback), feedback.pushWarning)
        if not jobs:
            raise QgsProcessingException(tr("The scene layer has no scenes to download."))
        feedback.pushInfo(tr("{} files to download into {}").format(len(jobs), folder))

        def progress(state):
            if state.fraction is not None:  # None while a size is unknown
                feedback.setProgress(100.0 * state.fraction)
            feedback.setProgressText(tr("{:.1f} of {:.1f} MB, {:.1f} MB/s").format(
                state.bytes_done / 1e6, (state.bytes_total or 0) / 1e6, state.rate_bytes_per_s / 1e6))

        with self.core_errors(), use_proxy(proxy_url()), network_log(feedback):
            results = download_many(jobs, progress=progress, is_cancelled=feedback.isCanceled)
        downloaded = [r.path for r in results if r.ok and not r.offline]
        offline = [r.url for r in results if r.offline]
        for url in offline:
            feedback.pushWarning(
                tr("Offline (in the long-term archive; order it, then download again): {}").format(url))
        return {self.FOLDER: folder, "DOWNLOADED": ";".join(downloaded), "OFFLINE": ";".join(offline),
                "COUNT": len(downloaded)}

    def _credentials(self, parameters, context, feedback):
        """The account's credentials per scene row, each sent only to the hosts it belongs to; None
        without AUTHCFG."""
        authcfg = self.parameterAsString(parameters, self.AUTHCFG, context)
        account = credentials(authcfg)
        if account is None:
            return None
        token_url = self.parameterAsString(parameters, self.TOKEN_URL, context).strip() or CDSE_TOKEN_URL
        server = self.parameterAsString(parameters, self.URL, context).strip()
        return SceneCredentials(account, token_url, [auth_url(authcfg), server], feedback.pushWarning, tr(
            "If that host is the account's server, give its address in the authentication configuration's URL "
            "field or in URL (Server of the account)."))


def _attributes(feature) -> dict:
    return {name: feature[name] for name in feature.fields().names()}
