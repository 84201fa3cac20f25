"""Test set-up shared by every tier.

The checkout is imported as the package ``labelmigration`` through a symlink in a temporary
folder: putting the repository root itself on sys.path would shadow QGIS's own ``processing``.
"""
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The small real imagery the tests read is in the repository (tests/data/README.md gives each file's
# source, licence and attribution). The recorded catalogue answers are not: their README asks that they
# be read from ../shared/fixtures and not copied, so the tests that replay them skip without it.
TEST_DATA = Path(__file__).resolve().parent / "data"
CATALOGUE_ANSWERS = REPO_ROOT.parent / "shared" / "fixtures"

# `python -m pytest` puts the working directory (the repository root) on sys.path, where the
# plugin's own processing/ package would shadow QGIS's; drop it.
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.getcwd()) != str(REPO_ROOT)]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if os.path.isdir("/usr/share/proj"):
    os.environ.setdefault("PROJ_DATA", "/usr/share/proj")
_IMPORT_ROOT = Path(tempfile.mkdtemp(prefix="labelmigration-import-"))
(_IMPORT_ROOT / "labelmigration").symlink_to(REPO_ROOT)
sys.path.insert(0, str(_IMPORT_ROOT))
atexit.register(shutil.rmtree, _IMPORT_ROOT, ignore_errors=True)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: imagery/ (real chips and patches)."""
    return TEST_DATA


@pytest.fixture(scope="session")
def catalogue_dir() -> Path:
    """../shared/fixtures: recorded catalogue answers (stac/, odata/, dhus/), read in place."""
    if not CATALOGUE_ANSWERS.is_dir():
        pytest.skip(f"the recorded catalogue answers are missing (looked in {CATALOGUE_ANSWERS})")
    return CATALOGUE_ANSWERS


# QGIS 4 removed or changed what QGIS 3 deprecates: a deprecation warning raised from the plugin's own modules
# (labelmigration.*, not its tests) fails the test that triggered it, on every QGIS version of the matrix. sip
# raises QGIS's deprecations (e.g. "QgsField constructor is deprecated" on 3.38+) from the calling module.
PLUGIN_DEPRECATIONS_FAIL = r"error::DeprecationWarning:labelmigration(\.(?!tests\.)|$)"


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", PLUGIN_DEPRECATIONS_FAIL)
