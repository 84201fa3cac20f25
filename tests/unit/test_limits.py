"""core/util/limits.py: the limits in force, and the checks that refuse before allocating or reading."""
import threading

import pytest

from labelmigration.core.util import limits
from labelmigration.core.util.errors import LabelMigrationError


def test_a_huge_raster_is_refused_with_the_way_on():
    # the VRT: 1,000,000 x 1,000,000 pixels
    with pytest.raises(LabelMigrationError) as error:
        limits.check_pixels(1_000_000, 1_000_000, "The scene 'huge.vrt'")
    message = str(error.value)
    assert "1,000,000 x 1,000,000 pixels" in message and "limit of 10,000 megapixels" in message
    assert "crop it first" in message and "Largest raster (megapixels)" in message
    limits.check_pixels(10_980, 10_980, "A full Sentinel-2 tile at 10 m")  # 120.6 megapixels pass


def test_limits_in_force_apply_to_every_thread_and_are_restored():
    seen = []
    with limits.using(limits.with_values(max_megapixels=1.0, where_to_change="in the test ({NAME})")):
        worker = threading.Thread(target=lambda: seen.append(limits.current().max_megapixels))
        worker.start()
        worker.join()
        with pytest.raises(LabelMigrationError, match=r"in the test \(MAX_MEGAPIXELS\)"):
            limits.check_pixels(2000, 1000, "The raster")
    assert seen == [1.0] and limits.current().max_megapixels == limits.Limits().max_megapixels


def test_memory_and_metadata_limits():
    with limits.using(limits.with_values(max_memory_mb=100)):
        limits.check_memory(99e6, "A window")
        with pytest.raises(LabelMigrationError, match="would need 200 MB of memory, more than the limit of 100 MB"):
            limits.check_memory(200e6, "A window")
    assert limits.Limits().memory_bytes() == pytest.approx(limits.physical_memory_bytes() / 2)
    with pytest.raises(LabelMigrationError, match="damaged or hostile"):
        limits.check_metadata_size(1 << 30, "The metadata 'MTD_MSIL2A.xml'")  # the 1 GiB XML
    limits.check_metadata_size(2e6, "A real MTD_MSIL2A.xml")


def test_gdal_reads_from_a_server_that_never_answers_end_within_the_read_timeout():
    """A /vsicurl/ read (how STAC assets and remote COGs are cropped) against a loopback server that accepts
    the connection and never sends a byte: without the limits GDAL waits for curl's defaults (minutes);
    with them it gives up after about read_timeout_s per try."""
    import time

    from osgeo import gdal

    from labelmigration.core.util.gdal_settings import gdal_network_limits
    from labelmigration.tests.support.fault_server import Fault, fault_server

    with fault_server() as server:
        url = server.always("/scene.tif", Fault(hang=True))
        with limits.using(limits.with_values(read_timeout_s=1, connect_timeout_s=1)), gdal_network_limits():
            assert gdal.GetConfigOption("GDAL_HTTP_LOW_SPEED_TIME") == "1"
            started = time.monotonic()
            gdal.PushErrorHandler("CPLQuietErrorHandler")
            try:
                dataset = gdal.Open(f"/vsicurl/{url}")
            except RuntimeError:
                dataset = None
            finally:
                gdal.PopErrorHandler()
            elapsed = time.monotonic() - started
        assert dataset is None and elapsed < 15, elapsed  # four tries of about 1 s, plus retry delays
    assert gdal.GetConfigOption("GDAL_HTTP_LOW_SPEED_TIME") is None  # restored after the block


def test_overlapping_jobs_never_take_each_others_limits_away():
    """Found in review: QGIS runs algorithms as parallel tasks; with a plain save-and-restore, job A ending
    while job B ran put the defaults back under B (and A's values stayed in force after both ended)."""
    a_limits, b_limits = limits.with_values(max_megapixels=1.0), limits.with_values(max_megapixels=2.0)
    job_a = limits.using(a_limits)
    job_b = limits.using(b_limits)
    job_a.__enter__()
    job_b.__enter__()
    job_a.__exit__(None, None, None)  # A ends first
    assert limits.current() is b_limits
    job_b.__exit__(None, None, None)
    assert limits.current() == limits.Limits()
    with limits.using(a_limits):  # nesting (a model's child algorithms) keeps stack order
        with limits.using(b_limits):
            assert limits.current() is b_limits
        assert limits.current() is a_limits
