"""downloadscenes: the products (or only the needed assets) of scenes found by searchscenes."""
import functools
import json
import os

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputNumber, QgsProcessingOutputString,
                       QgsProcessingParameterAuthConfig, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterString)
from qgis.PyQt.QtCore import QT_TR_NOOP

from ..core.download import CDSE_TOKEN_URL, CdseToken, DownloadJob, download_many
from ..core.errors import LabelMigrationError
from ..core.http import basic_auth, use_proxy
from .algorithm import LabelMigrationAlgorithm, tr
from .network import credentials, proxy_url


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
        "&lt;id&gt;/&lt;asset&gt;.&lt;ext&gt; for assets.<br>"
        "<b>Assets</b> (ASSETS): comma-separated STAC asset names (e.g. <code>blue,green,red,nir,scl</code>); "
        "empty = the whole product.<br>"
        "<b>Authentication</b> (AUTHCFG): a QGIS authentication configuration with the account's user name "
        "and password (Copernicus Data Space: a bearer token is fetched and refreshed before it expires; "
        "DHuS: HTTP Basic). Never stored in settings, logs or projects.<br>"
        "<b>Token URL</b> (TOKEN_URL): the Copernicus Data Space token endpoint (default the public one).<br>"
        "DOWNLOADED lists the files written; OFFLINE the products that must first be restored.<br><br>"
        "Example: <code>qgis_process run labelmigration:downloadscenes -- SCENES=scenes.gpkg "
        "FOLDER=/data/sentinel2 AUTHCFG=ab12cde</code>"
    )

    SCENES, FOLDER, ASSETS, AUTHCFG, TOKEN_URL = "SCENES", "FOLDER", "ASSETS", "AUTHCFG", "TOKEN_URL"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.SCENES, tr("Scenes"), [QgsProcessing.SourceType.TypeVector]))
        self.addParameter(QgsProcessingParameterFolderDestination(self.FOLDER, tr("Folder")))
        self.addParameter(QgsProcessingParameterString(self.ASSETS, tr("Assets"), optional=True))
        self.addParameter(QgsProcessingParameterAuthConfig(self.AUTHCFG, tr("Authentication"), optional=True))
        self.addParameter(QgsProcessingParameterString(self.TOKEN_URL, tr("Token URL"), CDSE_TOKEN_URL, optional=True))
        self.addOutput(QgsProcessingOutputString("DOWNLOADED", tr("Downloaded files")))
        self.addOutput(QgsProcessingOutputString("OFFLINE", tr("Offline products")))
        self.addOutput(QgsProcessingOutputNumber("COUNT", tr("Number of files")))

    def process(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, self.SCENES, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, self.SCENES))
        folder = self.parameterAsString(parameters, self.FOLDER, context)
        assets = self.parameterAsNames(parameters, self.ASSETS, context) or []
        jobs, backends = [], set()
        with self.core_errors():
            for feature in source.getFeatures():
                scene = _attributes(feature)
                jobs.extend(scene_jobs(scene, folder, assets))
                backends.add(_text(scene.get("backend")))
        if not jobs:
            raise QgsProcessingException(tr("The scene layer has no scenes to download."))
        account = credentials(self.parameterAsString(parameters, self.AUTHCFG, context))
        headers = None
        if account and any("odata" in backend.lower() or "cdse" in backend.lower() for backend in backends):
            token_url = self.parameterAsString(parameters, self.TOKEN_URL, context) or CDSE_TOKEN_URL
            headers = CdseToken(*account, token_url=token_url)
        elif account:
            headers = functools.partial(basic_auth, account)
        os.makedirs(folder, exist_ok=True)
        feedback.pushInfo(tr("{} files to download into {}").format(len(jobs), folder))

        def progress(state):
            if state.fraction is not None:  # None while a size is unknown
                feedback.setProgress(100.0 * state.fraction)
            feedback.setProgressText(tr("{:.1f} of {:.1f} MB, {:.1f} MB/s").format(
                state.bytes_done / 1e6, (state.bytes_total or 0) / 1e6, state.rate_bytes_per_s / 1e6))

        with self.core_errors(), use_proxy(proxy_url()):
            results = download_many(jobs, headers_provider=headers, progress=progress,
                                    is_cancelled=feedback.isCanceled)
        downloaded = [r.path for r in results if r.ok and not r.offline]
        offline = [r.url for r in results if r.offline]
        for url in offline:
            feedback.pushWarning(tr("Offline (in the long-term archive; order it, then download again): {}").format(url))
        return {self.FOLDER: folder, "DOWNLOADED": ";".join(downloaded), "OFFLINE": ";".join(offline),
                "COUNT": len(downloaded)}


def _attributes(feature) -> dict:
    return {name: feature[name] for name in feature.fields().names()}


def _text(value) -> str:
    return "" if value is None or str(value) == "NULL" else str(value)


def scene_jobs(scene: dict, folder: str, assets) -> list:
    """Download jobs for one scene row: its whole product, or the named assets."""
    title = _text(scene.get("title")) or _text(scene.get("id"))
    checksums = json.loads(_text(scene.get("checksums")) or "{}")
    size = scene.get("size")
    size = int(size) if _text(size) else None
    if assets:
        available = json.loads(_text(scene.get("assets")) or "{}")
        missing = [name for name in assets if name not in available]
        if missing:
            raise LabelMigrationError(
                f"The scene '{title}' has no asset {', '.join(missing)} (it has {', '.join(sorted(available)) or 'none'}).")
        return [DownloadJob(available[name], os.path.join(folder, _text(scene.get("id")) or title,
                                                         name + _extension(available[name])))
                for name in assets]
    url = _text(scene.get("url"))
    if not url:
        raise LabelMigrationError(
            f"The scene '{title}' has no whole-product download; name the assets to download (ASSETS).")
    if os.path.exists(url):  # a local archive: nothing to download
        return []
    name = title if title.lower().endswith(".zip") else title.replace(".SAFE", "") + ".zip"
    return [DownloadJob(url, os.path.join(folder, name), expected_size=size, checksums=checksums or None)]


def _extension(href: str) -> str:
    tail = href.split("?", 1)[0].rsplit("/", 1)[-1]
    return "." + tail.rsplit(".", 1)[1] if "." in tail else ""
