"""Label Migration > About Label Migration…: version (from metadata.txt), licence, links and data attribution."""
import configparser
import html
import os
from typing import Dict

from qgis.PyQt.QtCore import QT_TR_NOOP, Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from ..core.util.plugin_files import METADATA_FILE, PLUGIN_DIR
from ..qgis_common.translation import tr

ABOUT_DIALOG_NAME = "labelMigrationAboutDialog"
LICENCE = "GPL-2.0-or-later"


def read_metadata(path: str = METADATA_FILE) -> Dict[str, str]:
    """The [general] section of metadata.txt: the one source of the plugin's version and links."""
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as stream:
        parser.read_file(stream)
    return dict(parser["general"])


def plugin_version() -> str:
    return read_metadata().get("version", "?")


# (what, who / source, licence, link): the data the bundled model (models/cloud_s2_4band.onnx) was
# trained, selected or evaluated on, as its card models/cloud_s2_4band.md lists it, and the optional models.
ATTRIBUTION = (
    (QT_TR_NOOP("On Cloud N chips (checkpoint selection and evaluation of the bundled cloud model)"),
     "Radiant Earth Foundation (2022), \"Sentinel-2 Cloud Cover Segmentation Dataset\" (DrivenData On Cloud N "
     "challenge), doi:10.34911/RDNT.HFQ6M7; contains modified Copernicus Sentinel data 2018-2020",
     "CC-BY-4.0", "https://doi.org/10.34911/RDNT.HFQ6M7"),
    (QT_TR_NOOP("eo-learn example data (real clear-sky spectra in the synthetic training scenes)"),
     "sentinel-hub/eo-learn; contains modified Copernicus Sentinel data",
     "MIT", "https://github.com/sentinel-hub/eo-learn"),
    (QT_TR_NOOP("38-Cloud sample patch (smoke test of the bundled cloud model)"),
     "SorourMo/38-Cloud-A-Cloud-Segmentation-Dataset",
     "Apache-2.0", "https://github.com/SorourMo/38-Cloud-A-Cloud-Segmentation-Dataset"),
    (QT_TR_NOOP("ukis-csmask cloud and cloud-shadow models (cloudmask's built-in models 1 to 4, "
                "when installed and chosen)"),
     "DLR, dlr-eoc/ukis-csmask",
     "Apache-2.0", "https://github.com/dlr-eoc/ukis-csmask"),
)


def about_html(metadata: Dict[str, str]) -> str:
    def link(url: str) -> str:
        url = html.escape(url or "")
        return f'<a href="{url}">{url}</a>'

    # tr() calls stand outside the f-strings below: pylupdate5 cannot find them inside one
    words = {"licence": tr("Licence"), "version": tr("Version"), "experimental": tr("experimental"),
             "gpl": tr("GNU General Public License, version 2 or later; see the LICENSE file"),
             "authors": tr("Authors"), "home": tr("Home page"), "source": tr("Source code"),
             "tracker": tr("Report a problem"), "model": tr("Bundled cloud model and its data"),
             "model_text": tr("The default cloud model (models/cloud_s2_4band.onnx) is part of Label Migration and "
                              "under its licence. It was trained on synthetic scenes only; the data below were used "
                              "in building, selecting or testing it (see models/cloud_s2_4band.md)."),
             "copernicus": tr("Contains modified Copernicus Sentinel data.")}
    words = {key: html.escape(value) for key, value in words.items()}
    rows = "".join(
        f"<li><b>{html.escape(tr(what))}</b>: {html.escape(who)}. {words['licence']}: {html.escape(licence)}, "
        f"{link(url)}</li>" for what, who, licence, url in ATTRIBUTION)
    experimental = f" ({words['experimental']})" if metadata.get("experimental", "").lower() == "true" else ""
    return (
        f"<h2>{html.escape(metadata.get('name', 'Label Migration'))} {html.escape(metadata.get('version', '?'))}</h2>"
        f"<p>{html.escape(metadata.get('description', ''))}</p>"
        f"<p><b>{words['version']}</b>: {html.escape(metadata.get('version', '?'))}{experimental}<br>"
        f"<b>{words['licence']}</b>: {LICENCE} ({words['gpl']})<br>"
        f"<b>{words['authors']}</b>: {html.escape(metadata.get('author', ''))} "
        f"&lt;{html.escape(metadata.get('email', ''))}&gt;</p>"
        f"<p><b>{words['home']}</b>: {link(metadata.get('homepage', ''))}<br>"
        f"<b>{words['source']}</b>: {link(metadata.get('repository', ''))}<br>"
        f"<b>{words['tracker']}</b>: {link(metadata.get('tracker', ''))}</p>"
        f"<h3>{words['model']}</h3>"
        f"<p>{words['model_text']}</p>"
        f"<ul>{rows}</ul>"
        f"<p>{words['copernicus']}</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName(ABOUT_DIALOG_NAME)
        self.metadata = read_metadata()
        self.setWindowTitle(tr("About Label Migration"))
        icon_path = os.path.join(PLUGIN_DIR, self.metadata.get("icon", "icon.svg"))
        if os.path.exists(icon_path):
            self.setWindowIcon(QIcon(icon_path))
        layout = QVBoxLayout(self)
        self.title = QLabel(f"<b>Label Migration {html.escape(self.metadata.get('version', '?'))}</b>", self)
        self.title.setObjectName("labelMigrationAboutTitle")
        layout.addWidget(self.title)
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("labelMigrationAboutText")
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(about_html(self.metadata))
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, Qt.Orientation.Horizontal, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.resize(720, 560)

    def text(self) -> str:
        """The dialog's text as the user reads it (for tests and support)."""
        return self.title.text() + "\n" + self.browser.toPlainText()
