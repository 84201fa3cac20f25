"""The base class's boundary (processing/algorithm.py): whatever goes wrong inside an algorithm leaves as
one QgsProcessingException with a message for the user; the traceback goes to the log file only; the
plugin's limits are read from the Processing settings or the environment for each run.

The algorithm under test is a minimal subclass defined here (a stand-in whose process() raises the
error of each case); everything around it (processing.run, the provider's settings) is the real thing.
"""
import os

import pytest

pytestmark = pytest.mark.qgis


@pytest.fixture
def failing(provider):
    """Runs a throwaway subclass of the plugin's base class whose process() raises `error`."""
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsProcessingParameterString

    from labelmigration.core.util import limits
    from labelmigration.processing.algorithm import LabelMigrationAlgorithm

    class Failing(LabelMigrationAlgorithm):
        ALGORITHM_ID, DISPLAY_NAME, GROUP, HELP = "failing", "Failing", "Tests", "(TEXT) Example"
        error = None
        seen_limits = None

        def initAlgorithm(self, config=None):  # noqa: N802
            self.addParameter(QgsProcessingParameterString("TEXT", "Text", optional=True))

        def process(self, parameters, context, feedback):
            Failing.seen_limits = limits.current()
            if Failing.error is not None:
                raise Failing.error
            return {}

    algorithm = Failing()
    algorithm.initAlgorithm()

    def run(error):
        Failing.error = error  # the instance QGIS runs is a copy made by createInstance()
        with pytest.raises(QgsProcessingException) as raised:
            processing.run(algorithm, {}, feedback=QgsProcessingFeedback())
        return str(raised.value)

    run.algorithm = Failing
    return run


def test_an_unexpected_error_is_one_message_and_the_traceback_is_in_the_log(failing):
    from qgis.core import QgsApplication

    log = os.path.join(QgsApplication.qgisSettingsDirPath(), "labelmigration", "errors.log")
    size = os.path.getsize(log) if os.path.exists(log) else 0
    message = failing(KeyError("Id"))
    assert message.endswith("Failing failed unexpectedly: KeyError: 'Id'. The details are in the file " + log + ".")
    assert "Traceback" not in message
    with open(log, encoding="utf-8") as handle:
        handle.seek(size)
        assert "Traceback (most recent call last)" in handle.read()


def test_core_errors_os_errors_and_memory(failing):
    from labelmigration.core.util.errors import Cancelled, LabelMigrationError

    assert failing(LabelMigrationError("The label 'a.tif' is empty.")).endswith("The label 'a.tif' is empty.")
    assert failing(Cancelled()).endswith("Cancelled by the user; no output was written.")
    message = failing(PermissionError(13, "Permission denied", "/data/out/matches.csv"))
    assert message.endswith("Cannot read or write '/data/out/matches.csv': Permission denied.")
    assert "ran out of memory" in failing(MemoryError())


def test_limits_come_from_the_environment_then_the_settings(failing, monkeypatch):
    from qgis.core import QgsSettings

    from labelmigration.core.util import limits
    from labelmigration.core.util.errors import LabelMigrationError

    settings = QgsSettings()
    settings.setValue("Processing/Configuration/LABELMIGRATION_READ_TIMEOUT_S", 7.5)
    settings.setValue("Processing/Configuration/LABELMIGRATION_MAX_MEGAPIXELS", "not a number")
    monkeypatch.setenv("LABELMIGRATION_CONNECT_TIMEOUT_S", "3")
    monkeypatch.setenv("LABELMIGRATION_STALL_TIMEOUT_S", "inf")  # review: inf reached socket.settimeout
    monkeypatch.setenv("LABELMIGRATION_RETRY_DEADLINE_S", "1e12")
    try:
        failing(LabelMigrationError("x"))
        seen = failing.algorithm.seen_limits
        assert (seen.read_timeout_s, seen.connect_timeout_s) == (7.5, 3.0)
        assert seen.max_megapixels == limits.Limits().max_megapixels  # a bad value keeps the default
        assert (seen.stall_timeout_s, seen.retry_deadline_s) == (limits.Limits().stall_timeout_s,
                                                                 limits.Limits().retry_deadline_s)
        with limits.using(seen):
            with pytest.raises(Exception, match="Settings > Options > Processing > Providers > Label Migration "
                                                r"\(or the environment variable LABELMIGRATION_MAX_MEGAPIXELS\)"):
                limits.check_pixels(10 ** 6, 10 ** 6, "The raster")
    finally:
        settings.remove("Processing/Configuration/LABELMIGRATION_READ_TIMEOUT_S")
        settings.remove("Processing/Configuration/LABELMIGRATION_MAX_MEGAPIXELS")
    assert limits.current() == limits.Limits()  # the run's limits ended with the run


def test_the_limits_are_processing_settings(provider):
    from processing.core.ProcessingConfig import ProcessingConfig

    from labelmigration.core.util.limits import LIMIT_NAMES, SETTING_TITLES
    from labelmigration.processing.settings import TITLES_FOR_TRANSLATION

    registered = {name: ProcessingConfig.settings.get(f"LABELMIGRATION_{name.upper()}") for name in LIMIT_NAMES}
    assert all(setting is not None and setting.group == provider.name() for setting in registered.values())
    assert set(TITLES_FOR_TRANSLATION) == set(SETTING_TITLES.values())
