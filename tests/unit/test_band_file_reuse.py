"""core.sentinel2.band_files keeps band files open across labels during a run (GDAL's block cache lives with the
open file), shares them between threads with one reader at a time, never serves a file that changed,
and closes everything when the run ends."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from labelmigration.core.sentinel2 import band_files, safe_stack
from labelmigration.core.sentinel2.band_files import open_band_file, reusing_band_files
from labelmigration.tests.support.rasters import from_origin, write_raster


def _raster(path, value, size=8):
    return str(write_raster(path, np.full((size, size), value, np.uint16), crs="EPSG:32632",
                            transform=from_origin(600000, 5000000, 10, 10)))


def test_a_file_stays_open_until_the_run_ends(tmp_path):
    path = _raster(tmp_path / "b02.tif", 7)
    assert open_band_file(path) is not open_band_file(path)  # no run: a fresh handle each time
    with reusing_band_files():
        first = open_band_file(path)
        with reusing_band_files():  # nested (two runs at once): the inner end closes nothing
            assert open_band_file(path) is first
        assert open_band_file(path) is first and band_files._KEPT["files"]
    assert band_files._KEPT["users"] == 0 and not band_files._KEPT["files"]


def test_the_block_cache_is_capped_while_files_are_reused_then_restored():
    from osgeo import gdal

    before = gdal.GetCacheMax()
    gdal.SetCacheMax(band_files.REUSE_BLOCK_CACHE_BYTES * 4)
    try:
        with reusing_band_files():
            assert gdal.GetCacheMax() == band_files.REUSE_BLOCK_CACHE_BYTES
        assert gdal.GetCacheMax() == band_files.REUSE_BLOCK_CACHE_BYTES * 4
    finally:
        gdal.SetCacheMax(before)


def test_a_changed_file_is_opened_again(tmp_path):
    path = tmp_path / "b02.tif"
    with reusing_band_files():
        first = open_band_file(_raster(path, 7))
        assert first.dataset.ReadAsArray()[0, 0] == 7
        time.sleep(1.1)  # a new modification time even where it has whole seconds
        path.unlink()
        second = open_band_file(_raster(path, 9, size=16))
        assert second is not first and second.dataset.ReadAsArray()[0, 0] == 9


def test_threads_share_a_file_one_reader_at_a_time(tmp_path, monkeypatch):
    path = _raster(tmp_path / "b02.tif", 7, size=64)
    stack = safe_stack.BandStack(products=[], bands=[], resolution=10, reflectance=False, width=64, height=64,
                                 transform=(0, 10, 0, 0, 0, -10), srs_wkt="")
    inside, most = [0], [0]
    original = safe_stack.gdal.Band.ReadAsArray

    def counting_read(band, *args, **kwargs):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.01)  # long enough for the other threads to try
        try:
            return original(band, *args, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(safe_stack.gdal.Band, "ReadAsArray", counting_read)
    with reusing_band_files(), ThreadPoolExecutor(4) as pool:
        handles = set(pool.map(lambda _: id(open_band_file(path)), range(8)))
        reads = list(pool.map(lambda row: stack._read_file(path, 0, row, 64, 1), range(32)))
    assert len(handles) == 1
    assert most[0] == 1, "two threads read one GDAL dataset at once"
    assert all((read == 7).all() for read in reads)


def test_at_most_so_many_files_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(band_files, "MAX_KEPT_BAND_FILES", 2)
    paths = [_raster(tmp_path / f"b{index}.tif", index) for index in range(3)]
    with reusing_band_files():
        first = open_band_file(paths[0])
        open_band_file(paths[1])
        open_band_file(paths[2])  # the least recently used, paths[0], is closed
        assert len(band_files._KEPT["files"]) == 2
        assert open_band_file(paths[0]) is not first
