"""crop_scene: aligned image/label pairs, checked geometrically with rasterio/shapely/pyproj."""
import os

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.windows import from_bounds
from rasterio import features
from shapely.geometry import box, shape
from shapely.ops import transform as shapely_transform, unary_union

from labelmigration.core.labels.crop import crop_scene
from labelmigration.core.util.errors import Cancelled, LabelMigrationError
from labelmigration.tests.support.rasters import from_origin, origin_in, write_raster

SCENE_ORIGIN = (690_000.0, 5_340_000.0)  # UTM 32N, near Munich
SCENE_SIZE = 300  # 3 km at 10 m


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """4-band uint16 scene whose every pixel value encodes band, row and column."""
    rows, cols = np.mgrid[0:SCENE_SIZE, 0:SCENE_SIZE]
    data = np.stack([(b + 1) * 10000 + rows * 30 + cols % 30 + 1 for b in range(4)]).astype(np.uint16)
    path = tmp_path_factory.mktemp("scene") / "scene.tif"
    return write_raster(path, data, "EPSG:32632", from_origin(*SCENE_ORIGIN, 10, 10), nodata=0,
                        descriptions=("B02", "B03", "B04", "B08"), tiled=True, blockxsize=128, blockysize=128)


def disk_label(tmp_path, centre_utm=(691_234.0, 5_338_777.0), radius_px=120, size=400, name="label_3035.tif"):
    """A 3 m EPSG:3035 label: class 1 disk, background 0, nodata 255 in a corner triangle."""
    x, y = origin_in("EPSG:32632", "EPSG:3035", *centre_utm)
    transform = from_origin(x - size * 1.5, y + size * 1.5, 3, 3)
    rows, cols = np.mgrid[0:size, 0:size]
    label = np.zeros((size, size), np.uint8)
    label[(rows - size / 2) ** 2 + (cols - size / 2) ** 2 < radius_px ** 2] = 1
    label[rows + cols < 60] = 255
    return write_raster(tmp_path / name, label, "EPSG:3035", transform, nodata=255), label, transform


def footprint_in_utm(label_path):
    """The label's valid pixels as a polygon in the scene's CRS, computed with rasterio/shapely."""
    with rasterio.open(label_path) as label:
        valid = label.read_masks(1) > 0
        pieces = [shape(geometry) for geometry, _ in
                  features.shapes(valid.astype(np.uint8), mask=valid, transform=label.transform)]
    to_utm = Transformer.from_crs("EPSG:3035", "EPSG:32632", always_xy=True).transform
    return shapely_transform(to_utm, unary_union(pieces)), valid


def test_pair_geometry_is_exact(tmp_path, scene):
    label_path, label, label_transform = disk_label(tmp_path)
    image_path, pair_label_path = tmp_path / "image.tif", tmp_path / "pair_label.tif"
    result = crop_scene(str(scene), str(label_path), str(image_path), str(pair_label_path))
    with rasterio.open(image_path) as image, rasterio.open(pair_label_path) as pair, rasterio.open(scene) as src:
        # the image keeps the scene's CRS and native grid, offset by whole pixels
        assert image.crs == src.crs
        assert (image.transform.a, image.transform.e) == (10, -10)
        column_offset = (image.transform.c - src.transform.c) / 10
        row_offset = (src.transform.f - image.transform.f) / 10
        assert column_offset == int(column_offset) and row_offset == int(row_offset)
        # the label lies on exactly the same grid
        assert (pair.width, pair.height, pair.transform, pair.crs) == (image.width, image.height, image.transform, image.crs)
        # the image bounds contain the label's footprint
        outline, _ = footprint_in_utm(label_path)
        assert box(*image.bounds).buffer(1e-6).contains(outline.intersection(box(*src.bounds)))
        # image pixels are the scene's own pixels
        window = from_bounds(*image.bounds, transform=src.transform)
        scene_pixels = src.read(window=window.round_offsets().round_lengths())
        pixels = image.read()
        data = pixels[0] != 0
        assert data.sum() > 0
        np.testing.assert_array_equal(pixels[:, data], scene_pixels[:, data])
        assert image.descriptions == ("B02", "B03", "B04", "B08") and image.nodata == 0
        # label pixels always have image data under them
        pair_values = pair.read(1)
        pair_valid = pair_values != pair.nodata
        assert not (pair_valid & ~data).any()
        assert set(np.unique(pair_values[pair_valid])) == {0, 1}
        # positive area matches the original within one output pixel row's worth
        original_area = (label == 1).sum() * 9.0  # EPSG:3035 is equal-area
        warped_area = (pair_values == 1).sum() * 100.0
        disk_width_px = 2 * 120 * 3 / 10
        assert abs(warped_area - original_area) <= disk_width_px * 100.0
    assert result.covered_percent == pytest.approx(100.0)
    assert result.nodata_percent == 0.0
    assert result.label_pixels == pair_valid.sum()


def test_pixels_outside_the_footprint_are_nodata(tmp_path, scene):
    label_path, _, _ = disk_label(tmp_path)
    crop_scene(str(scene), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
    with rasterio.open(tmp_path / "i.tif") as image:
        pixels = image.read(1)
        # the label's nodata corner triangle: the image's top-left corner pixel is outside the footprint
        assert pixels[0, 0] == 0
        assert pixels[pixels.shape[0] // 2, pixels.shape[1] // 2] != 0


def test_band_subset_in_given_order(tmp_path, scene):
    label_path, _, _ = disk_label(tmp_path)
    crop_scene(str(scene), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"), bands=[3, 1])
    with rasterio.open(tmp_path / "i.tif") as image:
        assert image.descriptions == ("B04", "B02")
        values = image.read()
        inside = values[0] != 0
        assert (values[0][inside] // 10000 == 3).all() and (values[1][inside] // 10000 == 1).all()
    with pytest.raises(LabelMigrationError, match="has no band 9"):
        crop_scene(str(scene), str(label_path), str(tmp_path / "i2.tif"), str(tmp_path / "l2.tif"), bands=[9])


def test_label_straddling_the_scene_edge_reports_coverage(tmp_path, scene):
    # centre on the scene's east edge: about half the label lies outside
    east_edge = SCENE_ORIGIN[0] + SCENE_SIZE * 10
    label_path, _, _ = disk_label(tmp_path, centre_utm=(east_edge, 5_338_500.0))
    result = crop_scene(str(scene), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
    outline, _ = footprint_in_utm(label_path)
    with rasterio.open(scene) as src:
        expected = 100 * outline.intersection(box(*src.bounds)).area / outline.area
    assert 30 < expected < 70
    assert result.covered_percent == pytest.approx(expected, abs=0.05)
    assert any("straddles" in warning for warning in result.warnings)
    with rasterio.open(tmp_path / "i.tif") as image, rasterio.open(scene) as src:
        assert image.bounds.right == pytest.approx(src.bounds.right)


def test_no_overlap_is_an_error_and_writes_nothing(tmp_path, scene):
    label_path, _, _ = disk_label(tmp_path, centre_utm=(600_000.0, 5_000_000.0))
    with pytest.raises(LabelMigrationError, match=r"label_3035\.tif' and the scene .* do not overlap"):
        crop_scene(str(scene), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
    assert not (tmp_path / "i.tif").exists() and not (tmp_path / "l.tif").exists()


def test_output_equal_to_input_is_refused(tmp_path, scene):
    label_path, _, _ = disk_label(tmp_path)
    before = os.path.getmtime(scene)
    with pytest.raises(LabelMigrationError, match="would overwrite the input"):
        crop_scene(str(scene), str(label_path), str(scene), str(tmp_path / "l.tif"))
    with pytest.raises(LabelMigrationError, match="must be different files"):
        crop_scene(str(scene), str(label_path), str(tmp_path / "x.tif"), str(tmp_path / "x.tif"))
    assert os.path.getmtime(scene) == before


def test_corrupt_scene_is_reported_and_leaves_nothing(tmp_path, scene):
    label_path, _, _ = disk_label(tmp_path)
    corrupt = tmp_path / "corrupt.tif"
    data = scene.read_bytes()
    corrupt.write_bytes(data[: len(data) // 3])  # header intact, tiles cut off
    with pytest.raises(LabelMigrationError, match=r"corrupt\.tif"):
        crop_scene(str(corrupt), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.tif", "label_3035.tif"]


def test_cancel_leaves_no_output(tmp_path, scene):
    label_path, _, _ = disk_label(tmp_path)
    calls = []

    def cancel_after_start():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        crop_scene(str(scene), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"),
                   is_cancelled=cancel_after_start)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["label_3035.tif"]


def test_existing_output_survives_a_failed_run(tmp_path, scene):
    label_path, _, _ = disk_label(tmp_path)
    image = tmp_path / "i.tif"
    image.write_bytes(b"previous result")
    with pytest.raises(Cancelled):
        crop_scene(str(scene), str(label_path), str(image), str(tmp_path / "l.tif"), is_cancelled=lambda: True)
    assert image.read_bytes() == b"previous result"


def test_scene_without_nodata_gets_zero_nodata_and_mode_resampling(tmp_path):
    data = np.full((1, 100, 100), 500, np.uint16)
    scene = write_raster(tmp_path / "plain_scene.tif", data, "EPSG:32632", from_origin(0, 1000, 10, 10))
    label = np.zeros((100, 100), np.uint8)
    label[:, :50] = 2
    label_path = write_raster(tmp_path / "fine.tif", label, "EPSG:32632", from_origin(200, 800, 2, 2))
    crop_scene(str(scene), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"),
               label_resampling="mode")
    with rasterio.open(tmp_path / "i.tif") as image, rasterio.open(tmp_path / "l.tif") as pair:
        assert image.nodata == 0 and (image.width, image.height) == (20, 20)
        assert image.transform == from_origin(200, 800, 10, 10)
        classes = pair.read(1)
        assert (classes[:, :10] == 2).all() and (classes[:, 10:] == 0).all()
        assert pair.nodata == 255


def test_scene_grid_snapping_adds_no_empty_column(tmp_path, scene):
    """A label aligned exactly with scene pixels gives a window of exactly its size."""
    label = np.ones((30, 40), np.uint8)
    x0, y0 = SCENE_ORIGIN[0] + 100, SCENE_ORIGIN[1] - 200
    label_path = write_raster(tmp_path / "aligned.tif", label, "EPSG:32632", from_origin(x0, y0, 5, 5))
    crop_scene(str(scene), str(label_path), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
    with rasterio.open(tmp_path / "i.tif") as image:
        assert (image.width, image.height) == (20, 15)
        assert image.transform == from_origin(x0, y0, 10, 10)
        assert (image.read(1) != 0).all()


def test_empty_label_is_refused(tmp_path, scene):
    empty = write_raster(tmp_path / "empty.tif", np.full((20, 20), 255, np.uint8), "EPSG:32632",
                         from_origin(690_500, 5_339_500, 10, 10), nodata=255)
    with pytest.raises(LabelMigrationError, match=r"empty\.tif' is empty"):
        crop_scene(str(scene), str(empty), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
    assert not (tmp_path / "i.tif").exists()


def test_read_only_output_folder_is_refused(tmp_path, scene):
    from labelmigration.tests.support.folders import read_only_folder

    label_path, _, _ = disk_label(tmp_path)
    with read_only_folder(tmp_path) as folder:
        with pytest.raises(LabelMigrationError, match=r"output image .* folder .* is not writable"):
            crop_scene(str(scene), str(label_path), str(folder / "i.tif"), str(tmp_path / "l.tif"))
    assert not (tmp_path / "l.tif").exists()


def test_a_pair_without_image_data_is_refused_when_data_is_required(tmp_path):
    """cropscene asks for data (a pair with no image is useless); the migration's SCL rating does not."""
    blank = write_raster(tmp_path / "blank.tif", np.zeros((2, SCENE_SIZE, SCENE_SIZE), np.uint16), "EPSG:32632",
                         from_origin(*SCENE_ORIGIN, 10, 10), nodata=0)
    label_path, _, _ = disk_label(tmp_path)
    image, label = str(tmp_path / "image.tif"), str(tmp_path / "label.tif")
    with pytest.raises(LabelMigrationError, match=r"blank\.tif' has no data under the label .*Choose a scene"):
        crop_scene(str(blank), str(label_path), image, label, require_data=True)
    assert not os.path.exists(image) and not os.path.exists(label)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]
    assert crop_scene(str(blank), str(label_path), image, label).nodata_percent == 100.0


def test_label_without_georeferencing_says_how_to_go_on(tmp_path, scene):
    plain = write_raster(tmp_path / "drawn.png", np.ones((10, 10), np.uint8), driver="PNG")
    with pytest.raises(LabelMigrationError, match=r"drawn\.png' is not georeferenced.*Geocode label mask"):
        crop_scene(str(scene), str(plain), str(tmp_path / "i.tif"), str(tmp_path / "l.tif"))
