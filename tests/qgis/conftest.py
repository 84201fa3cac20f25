"""Headless QGIS with Processing initialised and the Label Migration provider registered."""
import os
import time

import pytest

# The registry owns the C++ provider, but its Python half lives only while Python refers to it.
_PROVIDERS = []


@pytest.fixture
def provider(qgis_app, qgis_processing):
    """The registered provider (registered on first use; the plugin test may have removed it)."""
    from qgis.core import QgsApplication

    from labelmigration.processing.provider import LabelMigrationProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("labelmigration") is None:
        _PROVIDERS.append(LabelMigrationProvider())
        assert registry.addProvider(_PROVIDERS[-1])
    return registry.providerById("labelmigration")


@pytest.fixture
def run(provider):
    """processing.run with the provider registered."""
    import processing
    from qgis.core import QgsProcessingFeedback

    def run_algorithm(algorithm_id, parameters, context=None):
        return processing.run(f"labelmigration:{algorithm_id}", parameters, feedback=QgsProcessingFeedback(),
                              context=context)

    return run_algorithm


@pytest.fixture
def dock(qgis_iface, provider):
    """The scene search dock (with its Migrate labels tab); the project is emptied afterwards."""
    from qgis.core import QgsProject

    from labelmigration.ui.search_dock import SceneSearchDock

    widget = SceneSearchDock(qgis_iface)
    yield widget
    widget.shutdown()
    widget.deleteLater()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


@pytest.fixture
def wait_idle():
    """wait_idle(dock, timeout_s): process Qt events until the dock's background task has ended."""
    from qgis.core import QgsApplication

    def wait(dock, timeout_s):
        deadline = time.monotonic() + timeout_s
        while dock.is_busy():
            assert time.monotonic() < deadline, "timed out waiting for the dock's task"
            QgsApplication.processEvents()
            time.sleep(0.02)

    return wait


# -- the bad-input suite (tests/qgis/test_bad_inputs_*.py; engine: tests/support/bad_inputs.py) ---------------
@pytest.fixture(scope="session")
def bad_input_library(tmp_path_factory):
    """Valid inputs for every algorithm, built once; each case breaks one thing."""
    from labelmigration.tests.support.bad_inputs import build_library

    return build_library(tmp_path_factory.mktemp("bad-input-library"))


@pytest.fixture(scope="session")
def foreign_host():
    """A loopback host no credentials may ever reach; the engine checks it after every case."""
    from labelmigration.tests.support.bad_inputs import foreign_host as serve

    with serve() as server:
        yield server


@pytest.fixture
def check_bad_input(provider, bad_input_library, foreign_host, tmp_path):
    """check_bad_input(case): run one case of the table through processing.run and check it."""
    from labelmigration.tests.support.bad_inputs import check_case

    def check(case, **servers):
        check_case(case, bad_input_library, tmp_path, {"foreign": foreign_host, **servers})

    return check


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory, repo_root):
    """A HOME with the plugin installed (`make install`) for qgis_process runs."""
    from labelmigration.tests.support.bad_inputs import QGIS_PROCESS, install_for_cli

    if not os.path.exists(QGIS_PROCESS):
        pytest.fail("qgis_process.bin is not installed (make setup installs QGIS)")
    return install_for_cli(repo_root, tmp_path_factory.mktemp("cli-home"))


@pytest.fixture
def check_bad_input_cli(cli_home, bad_input_library, foreign_host, tmp_path):
    """check_bad_input_cli(case): the same case through qgis_process, as a user runs it."""
    from labelmigration.tests.support.bad_inputs import check_case_cli

    def check(case, **servers):
        check_case_cli(case, bad_input_library, tmp_path, cli_home, {"foreign": foreign_host, **servers})

    return check


@pytest.fixture
def loads_results_without_a_desktop(monkeypatch):
    """processing.runAndLoadResults as in a script without the desktop: Processing's result loader sees no
    iface. pytest-qgis's iface is a MagicMock, and QGIS 3.44 hands iface.layerTreeView() to C++, which
    refuses a mock (3.22 and 3.40 only call Python methods on it)."""
    import processing.gui.Postprocessing as postprocessing

    monkeypatch.setattr(postprocessing, "iface", None, raising=False)
