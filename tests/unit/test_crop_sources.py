"""cropscene reads only the window it needs: remote COGs over HTTP ranges, VRT mosaics."""
import numpy as np
import pytest
import rasterio
from osgeo import gdal

from labelmigration.core.labels.crop import crop_scene
from labelmigration.tests.support.range_server import range_server
from labelmigration.tests.support.rasters import from_origin, write_raster


def make_cog(path, size=2048):
    rows, cols = np.mgrid[0:size, 0:size]
    data = np.stack([(rows * 7 + cols * 3 + b) % 60000 + 1 for b in range(4)]).astype(np.uint16)
    plain = write_raster(path.with_suffix(".plain.tif"), data, "EPSG:32632", from_origin(600_000, 5_300_000, 10, 10),
                         nodata=0)
    gdal.Translate(str(path), str(plain), format="COG", creationOptions=["BLOCKSIZE=256", "COMPRESS=DEFLATE"])
    plain.unlink()
    return path, data


def test_remote_cog_crop_reads_only_the_needed_blocks(tmp_path):
    cog, data = make_cog(tmp_path / "scene_cog.tif")
    label = np.ones((100, 100), np.uint8)
    # 1 km x 1 km label in the middle of the 20 km scene
    label_path = write_raster(tmp_path / "label.tif", label, "EPSG:32632", from_origin(610_005, 5_289_995, 10, 10))
    file_size = cog.stat().st_size
    gdal.SetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    try:
        with range_server(tmp_path) as server:
            crop_scene(f"/vsicurl/{server.url}/scene_cog.tif", str(label_path), str(tmp_path / "i.tif"),
                       str(tmp_path / "l.tif"))
            sent = server.bytes_sent
    finally:
        gdal.SetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", None)
    print(f"read {sent} of {file_size} bytes in {server.requests} requests")
    assert sent < file_size / 10, f"read {sent} of {file_size} bytes"
    with rasterio.open(tmp_path / "i.tif") as image:
        assert image.transform == from_origin(610_000, 5_290_000, 10, 10)
        assert (image.width, image.height) == (101, 101)
        pixels = image.read()
        expected = data[:, 1000:1101, 1000:1101]
        inside = pixels[0] != 0
        np.testing.assert_array_equal(pixels[:, inside], expected[:, inside])


def test_crop_from_a_vrt_mosaic_of_two_tiles(tmp_path):
    west = write_raster(tmp_path / "west.tif", np.full((100, 100), 11, np.uint16), "EPSG:32632",
                        from_origin(0, 1000, 10, 10), nodata=0)
    east = write_raster(tmp_path / "east.tif", np.full((100, 100), 22, np.uint16), "EPSG:32632",
                        from_origin(1000, 1000, 10, 10), nodata=0)
    vrt = tmp_path / "mosaic.vrt"
    gdal.BuildVRT(str(vrt), [str(west), str(east)])
    label_path = write_raster(tmp_path / "label.tif", np.ones((20, 40), np.uint8), "EPSG:32632",
                              from_origin(800, 600, 10, 10))
    result = crop_scene(str(vrt), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
    with rasterio.open(tmp_path / "i.tif") as image:
        pixels = image.read(1)
        assert (pixels[:, :20] == 11).all() and (pixels[:, 20:] == 22).all()
    assert result.covered_percent == pytest.approx(100.0)
