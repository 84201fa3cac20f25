"""Readers of training sources: real 38-Cloud and On Cloud N samples, fabricated layouts."""
import numpy as np
import pytest
from osgeo import gdal, osr

from labelmigration.training.datasets import (canonical_band_name, load_sources, read_38cloud, read_oncloudn,
                                              read_pairs, select_bands)
from labelmigration.training.scene import IGNORE, Scene

SAMPLE_SCENE_ID = "LC08_L1TP_002053_20160520_20170324_01_T1"
UTM33N = 32633


def write_tif(path, array, descriptions=(), nodata=None, scale=None, offset=None,
              transform=(500000.0, 10.0, 0.0, 6000000.0, 0.0, -10.0), metadata=None, epsg=UTM33N):
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    gdal_type = gdal.GetDataTypeByName({"uint8": "Byte", "uint16": "UInt16", "float32": "Float32",
                                        "int16": "Int16"}[array.dtype.name])
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[2], array.shape[1], array.shape[0], gdal_type)
    dataset.SetGeoTransform(transform)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    dataset.SetProjection(srs.ExportToWkt())
    if metadata:
        dataset.SetMetadata(metadata)
    for index, values in enumerate(array, start=1):
        band = dataset.GetRasterBand(index)
        if index <= len(descriptions):
            band.SetDescription(descriptions[index - 1])
        if nodata is not None:
            band.SetNoDataValue(nodata)
        if scale is not None:
            band.SetScale(scale)
        if offset is not None:
            band.SetOffset(offset)
        band.WriteArray(values)
    dataset = None
    return path


# --------------------------------------------------------------------------- band names

def test_aliases_map_sentinel2_and_38cloud_names_to_canonical_ones():
    assert [canonical_band_name(n) for n in ("B02", "b3", "B04", "B08", "B8A", "B09", "B11", "B12", "B01")] == \
        ["blue", "green", "red", "nir", "nir08", "wv", "swir16", "swir22", "coastal"]
    assert [canonical_band_name(n) for n in ("red", "Green", "BLUE", "nir", "nir09")] == \
        ["red", "green", "blue", "nir", "wv"]


def make_scene(bands=("blue", "green", "red", "nir")):
    image = np.stack([np.full((2, 3), i, np.float32) for i in range(len(bands))])
    return Scene(name="s", image=image, label=np.zeros((2, 3), np.uint8), bands=list(bands), group="g")


def test_select_bands_reorders_by_any_alias():
    chosen = select_bands(make_scene(), ["B08", "red", "B03"])
    assert chosen.bands == ["nir", "red", "green"]
    assert chosen.image[:, 0, 0].tolist() == [3.0, 2.0, 1.0]
    assert chosen.group == "g"


def test_select_bands_names_the_missing_bands():
    with pytest.raises(ValueError, match=r"B11, swir22 \(it has: blue, green, red, nir\)"):
        select_bands(make_scene(), ["red", "B11", "swir22"])


# --------------------------------------------------------------------------- 38-Cloud

def test_38cloud_sample_jpegs(data_dir):
    folder = data_dir / "imagery" / "38cloud_sample"
    [scene] = read_38cloud(folder)
    assert scene.name == f"patch_192_10_by_12_{SAMPLE_SCENE_ID}"
    assert scene.group == SAMPLE_SCENE_ID
    assert scene.bands == ["blue", "green", "red", "nir"]
    assert scene.image.shape == (4, 384, 384) and scene.image.dtype == np.float32
    red_dataset = gdal.Open(str(folder / f"red_{scene.name}.jpg"))
    red = red_dataset.GetRasterBand(1).ReadAsArray()
    np.testing.assert_allclose(scene.image[2], red / 255.0, rtol=1e-6)
    assert not np.isnan(scene.image).any()
    assert set(np.unique(scene.label)) == {0, 1}
    assert scene.label.mean() == pytest.approx(0.31, abs=0.01)


def fabricate_38cloud(root, patches):
    """patches: {patch name: (dn (4, rows, cols) in red, green, blue, nir order, gt 0/255)}."""
    for patch, (dn, gt) in patches.items():
        for band, values in zip(("red", "green", "blue", "nir"), dn):
            write_tif(root / f"train_{band}" / f"{band}_{patch}.TIF", values.astype(np.uint16))
        write_tif(root / "train_gt" / f"gt_{patch}.TIF", gt.astype(np.uint8))


def test_38cloud_16bit_layout_with_nonempty_list_and_zero_padding(tmp_path):
    scene_a, scene_b = "LC08_L1TP_029032_20160720_20170222_01_T1", "LC08_L1TP_064015_20160420_20170223_01_T1"
    rows = cols = 8
    dn = np.arange(4 * rows * cols, dtype=np.uint16).reshape(4, rows, cols) * 100 + 1
    dn[:, :2, :] = 0  # padding along the scene edge
    dn[0, 7, 7] = 0   # a dark red pixel that is not padding
    gt = np.zeros((rows, cols), np.uint8)
    gt[4:, :] = 255
    patches = {
        f"patch_1_1_by_1_{scene_a}": (dn, gt),
        f"patch_2_1_by_2_{scene_a}": (np.zeros((4, rows, cols)), np.zeros((rows, cols))),
        f"patch_5_3_by_4_{scene_b}": (dn, gt),
    }
    fabricate_38cloud(tmp_path, patches)
    csv_path = tmp_path / "training_patches_38-cloud_nonempty.csv"
    csv_path.write_text(f"name\npatch_1_1_by_1_{scene_a}\npatch_2_1_by_2_{scene_a}\n")

    everything = read_38cloud(tmp_path)
    assert [s.group for s in everything] == [scene_a, scene_a, scene_b]

    listed = read_38cloud(tmp_path, nonempty_csv=csv_path)
    assert [s.name for s in listed] == [f"patch_1_1_by_1_{scene_a}", f"patch_2_1_by_2_{scene_a}"]
    kept, empty = listed
    assert kept.bands == ["blue", "green", "red", "nir"]
    np.testing.assert_allclose(kept.image[2, 2:], dn[0, 2:] / 65535.0, rtol=1e-6)  # red is the third band
    np.testing.assert_allclose(kept.image[0, 2:], dn[2, 2:] / 65535.0, rtol=1e-6)
    assert np.isnan(kept.image[:, :2]).all() and (kept.label[:2] == IGNORE).all()
    assert kept.image[2, 7, 7] == 0.0 and kept.label[7, 7] == 1
    assert (kept.label[2:4] == 0).all() and (kept.label[4:] == 1).all()
    assert np.isnan(empty.image).all() and (empty.label == IGNORE).all()

    rescaled = read_38cloud(tmp_path, nonempty_csv=csv_path, scale=1e-4, bands=("nir", "red"))[0]
    assert rescaled.bands == ["nir", "red"]
    np.testing.assert_allclose(rescaled.image[0, 2:], dn[3, 2:] * 1e-4, rtol=1e-6)


def test_38cloud_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="gt_patch_"):
        read_38cloud(tmp_path)
    with pytest.raises(ValueError, match="no band swir16"):
        read_38cloud(tmp_path, bands=("red", "swir16"))


# --------------------------------------------------------------------------- image/label pairs

def test_pairs_in_images_labels_layout_with_scale_offset_and_nodata(tmp_path):
    dn = np.full((4, 5, 6), 3000, np.uint16)
    dn[:, 0, 0] = 0
    dn[1, 4, 5] = 0
    write_tif(tmp_path / "images" / "tile_a.tif", dn, descriptions=("B02", "B03", "B04", "B08"), nodata=0,
              scale=1e-4, offset=-0.1, metadata={"SOURCE_SCENE": "S2B_MSIL2A_20220601.SAFE"})
    classes = np.tile(np.array([0, 1, 2, 9, 1, 0], np.uint8), (5, 1))
    write_tif(tmp_path / "labels" / "tile_a.tif", classes, descriptions=("label",), nodata=9)

    [scene] = read_pairs(tmp_path)
    assert scene.name == "tile_a" and scene.group == "S2B_MSIL2A_20220601.SAFE"
    assert scene.bands == ["blue", "green", "red", "nir"]
    assert scene.image[0, 1, 1] == pytest.approx(0.2)
    assert np.isnan(scene.image[:, 0, 0]).all() and np.isnan(scene.image[1, 4, 5])
    assert scene.label[1].tolist() == [0, 1, 2, IGNORE, 1, 0]
    assert scene.label[0, 0] == IGNORE and scene.label[4, 5] == IGNORE  # no image data there

    [binary] = read_pairs(tmp_path, positive_classes=[2])
    assert binary.label[1].tolist() == [0, 0, 1, IGNORE, 0, 0]


def test_pairs_named_image_label_files_float_and_integer(tmp_path):
    reflectance = np.full((2, 3, 3), 0.25, np.float32)
    write_tif(tmp_path / "sub" / "pair_image.tif", reflectance, descriptions=("red", "nir"))
    write_tif(tmp_path / "sub" / "pair_label.tif", np.ones((3, 3), np.uint8))
    write_tif(tmp_path / "b_image.tif", np.full((2, 3, 3), 1234, np.uint16))
    validity = np.ones((2, 3, 3), np.uint8)
    validity[1, 0, :] = 0
    write_tif(tmp_path / "b_label.tif", validity, descriptions=("label", "validity"))

    scenes = {s.name: s for s in read_pairs(tmp_path)}
    assert sorted(scenes) == ["b", "sub/pair"]
    np.testing.assert_array_equal(scenes["sub/pair"].image, reflectance)
    assert scenes["sub/pair"].bands == ["red", "nir"]
    assert scenes["b"].bands == ["band1", "band2"]
    assert scenes["b"].image[0, 0, 0] == pytest.approx(0.1234)
    assert read_pairs(tmp_path, dn_scale=1.0 / 65535)[0].image[0, 0, 0] == pytest.approx(1234 / 65535)
    assert scenes["b"].label[0].tolist() == [IGNORE] * 3 and scenes["b"].label[1].tolist() == [1] * 3


def test_pairs_with_different_grids_are_refused(tmp_path):
    write_tif(tmp_path / "a_image.tif", np.ones((1, 4, 4), np.uint16))
    write_tif(tmp_path / "a_label.tif", np.ones((4, 4), np.uint8), transform=(500010.0, 10, 0, 6000000.0, 0, -10))
    with pytest.raises(ValueError, match="different geotransforms"):
        read_pairs(tmp_path)
    write_tif(tmp_path / "a_label.tif", np.ones((4, 5), np.uint8))
    with pytest.raises(ValueError, match="4x4 pixels.*5x4"):  # width x height
        read_pairs(tmp_path)
    write_tif(tmp_path / "a_label.tif", np.ones((4, 4), np.uint8), epsg=32634)
    with pytest.raises(ValueError, match="different coordinate systems"):
        read_pairs(tmp_path)
    write_tif(tmp_path / "a_label.tif", np.ones((4, 4), np.uint8))
    assert read_pairs(tmp_path)[0].label.shape == (4, 4)


def test_pairs_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image/label pairs"):
        read_pairs(tmp_path)
    write_tif(tmp_path / "a_image.tif", np.ones((1, 4, 4), np.uint16))
    with pytest.raises(FileNotFoundError, match="has no label"):
        read_pairs(tmp_path)
    write_tif(tmp_path / "a_label.tif", np.full((4, 4), 300, np.uint16))
    with pytest.raises(ValueError, match="outside the classes"):
        read_pairs(tmp_path)


# --------------------------------------------------------------------------- On Cloud N

def test_oncloudn_bundled_chips(data_dir):
    scenes = read_oncloudn(data_dir / "imagery" / "oncloudn" / "oncloudn_2chips.npz")
    assert len(scenes) == 2  # the first two of the five chips (tests/data/README.md)
    assert [s.name for s in scenes] == [f"chip_id_{i}" for i in range(1, 3)]
    assert len({s.group for s in scenes}) == 2
    assert all(s.bands == ["blue", "green", "red", "nir"] and s.image.shape == (4, 512, 512) for s in scenes)
    fractions = [float((s.label == 1).mean()) for s in scenes]
    np.testing.assert_allclose(fractions, [0.60, 0.41], atol=0.006)
    for scene in scenes:
        assert scene.image.dtype == np.float32
        assert 0.0 <= np.nanmin(scene.image) and np.nanmax(scene.image) < 2.0
        assert np.nanmax(scene.image) > 0.2  # DN / 10000, not raw DN or / 65535


def test_oncloudn_challenge_layout(tmp_path):
    band_values = {"B02": 1000, "B03": 2000, "B04": 3000, "B08": 4000}
    for chip in ("adwp", "bxyz"):
        for band, value in band_values.items():
            dn = np.full((4, 4), value, np.uint16)
            dn[0, 0] = 0
            write_tif(tmp_path / "train_features" / chip / f"{band}.tif", dn)
        label = np.zeros((4, 4), np.uint8)
        label[2:] = 1
        write_tif(tmp_path / "train_labels" / f"{chip}.tif", label)

    scenes = read_oncloudn(tmp_path)
    assert [(s.name, s.group) for s in scenes] == [("adwp", "adwp"), ("bxyz", "bxyz")]
    assert scenes[0].bands == ["blue", "green", "red", "nir"]
    assert scenes[0].image[:, 1, 1].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert np.isnan(scenes[0].image[:, 0, 0]).all() and scenes[0].label[0, 0] == IGNORE
    assert scenes[0].label[2:].tolist() == [[1] * 4] * 2 and scenes[0].label[1].tolist() == [0] * 4

    assert read_oncloudn(tmp_path, bands=("B08", "B04"))[1].bands == ["nir", "red"]
    (tmp_path / "train_labels" / "bxyz.tif").unlink()
    with pytest.raises(FileNotFoundError, match="bxyz has no label"):
        read_oncloudn(tmp_path)


# --------------------------------------------------------------------------- spec strings

def test_load_sources_combines_kinds_and_parses_options(tmp_path, data_dir):
    write_tif(tmp_path / "pairs" / "x_image.tif", np.full((1, 2, 2), 500, np.uint16), descriptions=("B04",))
    write_tif(tmp_path / "pairs" / "x_label.tif", np.array([[0, 3], [4, 3]], np.uint8))
    npz = data_dir / "imagery" / "oncloudn" / "oncloudn_2chips.npz"
    scenes = load_sources([f"pairs:{tmp_path / 'pairs'}?dn_scale=0.001&positive=3,4",
                           f"oncloudn:{npz}?bands=B04,nir",
                           f"38cloud:{data_dir / 'imagery' / '38cloud_sample'}?scale=0.001&bands=red"])
    assert [s.name for s in scenes][0] == "x" and len(scenes) == 4
    assert scenes[0].image[0, 0, 0] == pytest.approx(0.5)
    assert scenes[0].label.tolist() == [[0, 1], [1, 1]]
    assert scenes[1].bands == ["red", "nir"]
    assert scenes[3].bands == ["red"] and np.nanmax(scenes[3].image) <= 0.255


def test_load_sources_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown source kind 'sen12ms'.*38cloud, pairs, oncloudn"):
        load_sources(f"sen12ms:{tmp_path}")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_sources(f"pairs:{tmp_path / 'nowhere'}")
    with pytest.raises(ValueError, match="unknown option 'scale' for pairs.*known: dn_scale, positive"):
        load_sources(f"pairs:{tmp_path}?scale=2")
    with pytest.raises(ValueError, match="not a source spec"):
        load_sources(str(tmp_path))
    with pytest.raises(ValueError, match="option scale=abc"):
        load_sources(f"38cloud:{tmp_path}?scale=abc")
    with pytest.raises(FileNotFoundError, match="non-empty patch list"):
        load_sources(f"38cloud:{tmp_path}?nonempty={tmp_path / 'missing.csv'}")


# --------------------------------------------------------------------------- unlabelled scenes

def _oncloudn_chip(data_dir, index=0):
    """DN (4, 512, 512) of a real On Cloud N chip, bands B02 B03 B04 B08 (tests/data/README.md)."""
    with np.load(data_dir / "imagery" / "oncloudn" / "oncloudn_2chips.npz") as archive:
        return archive["image"][index]


def test_unlabelled_scenes_are_real_reflectance_without_labels_and_name_their_level(tmp_path, data_dir):
    """Expected reflectance: the chip's DN / 10000 (the On Cloud N chips' README: L2A, no offset, 0 = nodata). The
    level comes from product-style names (Sentinel-2 MSIL1C / MSIL2A, Landsat L1TP / L2SP) or ?level=."""
    dn = _oncloudn_chip(data_dir)
    b08_first = ("B08", "B02", "B03", "B04")  # any band order: names come from the descriptions
    write_tif(tmp_path / "s2" / "S2B_MSIL2A_20200601_chip.tif", dn, descriptions=("B02", "B03", "B04", "B08"),
              nodata=0)
    write_tif(tmp_path / "s2" / "deeper" / "LC08_L1TP_002053_20160520_patch.tif", dn[[3, 0, 1, 2]],
              descriptions=b08_first, nodata=0)
    l2a, l1c = load_sources(f"unlabelled:{tmp_path / 's2'}")
    assert (l2a.name, l2a.source, l1c.name, l1c.source) == (
        "S2B_MSIL2A_20200601_chip", "unlabelled-l2a", "deeper/LC08_L1TP_002053_20160520_patch", "unlabelled-l1c")
    assert l2a.bands == ["blue", "green", "red", "nir"] and l1c.bands == ["nir", "blue", "green", "red"]
    np.testing.assert_allclose(l2a.image, np.where(dn == 0, np.nan, dn * 1e-4), rtol=1e-6)
    np.testing.assert_allclose(select_bands(l1c, l2a.bands).image, l2a.image, rtol=1e-6)
    assert (l2a.label == IGNORE).all() and l2a.soft is None and l2a.group == l2a.name

    write_tif(tmp_path / "plain" / "scene.tif", dn[:, :8, :8], descriptions=("B02", "B03", "B04", "B08"))
    with pytest.raises(ValueError, match=r"scene\.tif.*add \?level=l1c or \?level=l2a"):
        load_sources(f"unlabelled:{tmp_path / 'plain'}")
    [given] = load_sources(f"unlabelled:{tmp_path / 'plain' / 'scene.tif'}?level=L1C&dn_scale=0.001")
    assert given.source == "unlabelled-l1c" and given.image[0, 0, 0] == pytest.approx(dn[0, 0, 0] * 1e-3)
    with pytest.raises(ValueError, match="level must be one of l1c, l2a, not 'toa'"):
        load_sources(f"unlabelled:{tmp_path / 'plain'}?level=toa")
    with pytest.raises(FileNotFoundError, match="no GeoTIFF"):
        (tmp_path / "empty").mkdir()
        load_sources(f"unlabelled:{tmp_path / 'empty'}")
