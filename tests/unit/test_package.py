"""make package: the plugin zip holds the plugin, its model, licence and translations, and nothing of the
development tree; metadata.txt has what the QGIS plugin repository needs."""
import configparser
import importlib.util
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author", "email",
                     "tracker", "repository", "homepage", "tags", "category", "icon", "changelog", "experimental",
                     "hasProcessingProvider", "qgisMaximumVersion", "license")


def _package_module(repo_root):
    spec = importlib.util.spec_from_file_location("lm_package_tool", repo_root / "tools" / "package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _metadata(repo_root):
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep qgisMinimumVersion's case, as in the file
    with open(repo_root / "metadata.txt", encoding="utf-8") as stream:
        parser.read_file(stream)
    return parser["general"]


@pytest.fixture(scope="module")
def package(repo_root, tmp_path_factory):
    target = tmp_path_factory.mktemp("package") / "labelmigration.zip"
    done = subprocess.run([sys.executable, str(repo_root / "tools" / "package.py"), str(target)], check=True,
                          capture_output=True, text=True)
    return {"names": zipfile.ZipFile(target).namelist(), "stdout": done.stdout, "path": target}


def test_package_contents(package):
    names = package["names"]
    assert all(name.startswith("labelmigration/") for name in names)
    for required in ("metadata.txt", "__init__.py", "plugin.py", "icon.svg", "LICENSE", "core/labels/crop.py",
                     "processing/provider.py", "qgis_common/styles.py", "qgis_common/results_group.py",
                     "ui/menu.py", "ui/about_dialog.py",
                     "ui/dependencies_dialog.py", "core/install/pip_install.py", "requirements-plugin.txt",
                     "models/cloud_s2_4band.onnx", "models/cloud_s2_4band.md", "models/cloud_s2_6band.onnx",
                     "models/cloud_s2_6band.md"):
        assert f"labelmigration/{required}" in names, required
    top_level = {name.split("/")[1] for name in names}
    assert not top_level & {"tests", "bench", "training", ".ci", ".github", "demo", "demo-output", "tools",
                            "test-output", "training-output", ".venv", "Makefile", "README.md", "pytest.ini",
                            "requirements-dev.txt", "requirements-training.txt", "requirements-stac-server.txt"}
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", ".ts", ".part"))]


def test_package_has_every_plugin_module(package, repo_root):
    """Every .py of the plugin's own packages is in the zip (also new, not yet committed ones)."""
    expected = {f"labelmigration/{path.relative_to(repo_root).as_posix()}"
                for folder in ("core", "processing", "qgis_common", "ui") for path in (repo_root / folder).rglob("*.py")
                if "__pycache__" not in path.parts}
    assert expected - set(package["names"]) == set()


def test_package_includes_compiled_translations(package, repo_root):
    folder = repo_root / "i18n"
    if not folder.is_dir():
        pytest.skip("no i18n/ folder yet")
    sources = sorted(p.stem for p in folder.glob("*.ts"))
    compiled = {n.split("/")[-1][:-3] for n in package["names"] if n.startswith("labelmigration/i18n/")}
    assert all(n.endswith(".qm") for n in package["names"] if n.startswith("labelmigration/i18n/"))
    assert set(sources) <= compiled, f"translations {sources}, compiled in the zip {sorted(compiled)}"


def test_package_reports_the_metadata_version(package, repo_root):
    version = _metadata(repo_root)["version"]
    assert f"labelmigration {version}," in package["stdout"]
    with zipfile.ZipFile(package["path"]) as archive:
        packaged = archive.read("labelmigration/metadata.txt").decode()
    assert re.search(rf"^version={re.escape(version)}$", packaged, re.MULTILINE)


def test_untracked_new_file_is_packaged_ignored_one_is_not(tmp_path, repo_root):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    tool = _package_module(repo_root)
    root = tmp_path / "plugin"
    root.mkdir()
    for name in ("metadata.txt", "__init__.py", "LICENSE", "icon.svg"):
        (root / name).write_text("x")
    (root / ".gitignore").write_text("ignored.py\n")
    (root / "new.py").write_text("x")
    (root / "ignored.py").write_text("x")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("x")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert tool.plugin_files(str(root)) == ["LICENSE", "__init__.py", "icon.svg", "metadata.txt", "new.py"]


def test_translations_are_compiled(tmp_path, repo_root):
    tool = _package_module(repo_root)
    if not (shutil.which("lrelease") or shutil.which("lrelease-qt5")):
        pytest.skip("lrelease is not installed")
    (tmp_path / "i18n").mkdir()
    (tmp_path / "i18n" / "labelmigration_de.ts").write_text(
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE TS><TS version="2.1" language="de">'
        '<context><name>LabelMigration</name><message><source>Stack bands</source>'
        '<translation>Bänder stapeln</translation></message></context></TS>', encoding="utf-8")
    written = tool.compile_translations(str(tmp_path))
    assert written == [str(tmp_path / "i18n" / "labelmigration_de.qm")]
    assert (tmp_path / "i18n" / "labelmigration_de.qm").stat().st_size > 0
    assert tool.translation_files(str(tmp_path)) == ["i18n/labelmigration_de.qm"]


def test_metadata_is_complete(repo_root):
    metadata = _metadata(repo_root)
    missing = [key for key in REQUIRED_METADATA if not metadata.get(key, "").strip()]
    assert not missing, f"metadata.txt lacks {missing}"
    assert metadata["qgisMinimumVersion"] == "3.22"
    assert re.fullmatch(r"\d+\.\d+\.\d+", metadata["version"])
    assert metadata["category"] in ("Raster", "Analysis")
    assert metadata["hasProcessingProvider"] == "yes"
    assert metadata["experimental"] in ("True", "False")
    assert (repo_root / metadata["icon"]).is_file()
    assert len(re.findall(r"[.!?](\s|$)", metadata["about"])) >= 3, "about: several sentences"
    for key in ("tracker", "repository", "homepage"):
        assert metadata[key].startswith("https://"), key
    assert metadata["version"] in metadata["changelog"], "the changelog has an entry for this version"
    assert len(metadata["tags"].split(",")) >= 5
    licence = (repo_root / "LICENSE").read_text()
    assert "GPL-2.0-or-later" in licence[:1000] and "GNU GENERAL PUBLIC LICENSE" in licence
    assert metadata["license"] == "GPL-2.0-or-later"


def test_qgis_4_users_can_see_the_plugin(repo_root):
    """Since 2026 plugins.qgis.org lists a plugin for QGIS 4 when its qgisMaximumVersion is 4.0 or more ("The
    supportsQt6 metadata flag is deprecated and no longer used to determine QGIS 4 compatibility", quoted in
    GIScience/orstools-qgis-plugin#376), and QGIS's plugin installer stopped reading supportsQt6 (qgis/QGIS
    pull request 65168); without qgisMaximumVersion the installer takes 3.99 and hides the plugin from QGIS 4."""
    metadata = _metadata(repo_root)
    assert metadata["qgisMaximumVersion"] == "4.99"
    assert "supportsQt6" not in metadata, "obsolete: QGIS 4 and the plugins site ignore it"
    minimum = tuple(int(part) for part in metadata["qgisMinimumVersion"].split("."))
    assert minimum <= (3, 22) and (4, 0) <= tuple(int(part) for part in metadata["qgisMaximumVersion"].split("."))


@pytest.mark.parametrize("qgis_version, shown", [
    ("3.22.16", True), ("3.40.6", True), ("3.44.16", True), ("4.0.0", True), ("4.2.1", True), ("5.0.0", False),
    ("3.16.0", False)])
def test_qgis_plugin_installer_offers_the_plugin_to_each_supported_qgis(repo_root, qgis_version, shown):
    """The answer of QGIS's own plugin installer (pyplugin_installer.version_compare.isCompatible, shipped with
    QGIS in /usr/share/qgis/python) for the metadata's version range."""
    folder = "/usr/share/qgis/python"
    if not (Path(folder) / "pyplugin_installer" / "version_compare.py").is_file():
        pytest.skip(f"QGIS's plugin installer is not in {folder}")
    sys.path.insert(0, folder)
    try:
        from pyplugin_installer.version_compare import isCompatible
    finally:
        sys.path.remove(folder)
    metadata = _metadata(repo_root)
    assert isCompatible(qgis_version, metadata["qgisMinimumVersion"], metadata["qgisMaximumVersion"]) is shown


def test_qgis_reads_the_metadata(repo_root):
    """QGIS's own metadata parser (qgis.utils) reads the file and finds the same version."""
    utils = pytest.importorskip("qgis.utils")
    if not hasattr(utils, "findPlugins"):
        pytest.skip("qgis.utils.findPlugins is missing")
    found = dict(utils.findPlugins(str(repo_root.parent)))
    if repo_root.name not in found:
        pytest.skip(f"the checkout's folder name {repo_root.name!r} is not found by QGIS's plugin scan")
    parser = found[repo_root.name]
    assert parser.get("general", "version") == _metadata(repo_root)["version"]
    assert parser.get("general", "qgisMaximumVersion") == "4.99"
