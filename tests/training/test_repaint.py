"""Bright ground repainted on real texture (training/repaint.py). The patch is real: a cloud-free window of L8 Biome's
GrassCrops_09_2014 (tests/data/imagery/l8biome, top-of-atmosphere reflectance, human labels). Expected answers come
from the module's definition: every repainted pixel is one surface spectrum of training/synthetic.py's ranges times
that pixel's own relative brightness (clipped to TEXTURE_RANGE), so band ratios are one constant and the brightness
order of the original pixels is kept; a patch with cloud in it is never repainted."""
import numpy as np
import pytest

from labelmigration.tests.conftest import TEST_DATA
from labelmigration.training import repaint
from labelmigration.training.scene import CLEAR, CLOUD, IGNORE, SHADOW
from labelmigration.training.synthetic import BANDS as ALL_BANDS
from labelmigration.training.synthetic import SURFACES, SceneGenerator, SyntheticConfig

BANDS = ["blue", "green", "red", "nir"]


@pytest.fixture(scope="module")
def clear_ground():
    """GrassCrops_09_2014's top 64 x 64 window at column 80: no cloud in its human label (clear and shadow)."""
    data = np.load(TEST_DATA / "imagery" / "l8biome" / "l8biome_2patches.npz")
    index = list(data["chip_names"]).index("GrassCrops_09_2014")
    window = (slice(0, 64), slice(80, 144))
    biome = data["label"][index][window]  # 0 clear, 1 thick, 2 thin cloud, 3 shadow, 255 fill
    assert not np.isin(biome, (1, 2)).any()
    label = np.select([biome == 0, biome == 3], [CLEAR, SHADOW], IGNORE).astype(np.uint8)
    return data["image"][index][:, window[0], window[1]].astype(np.float32), label


def test_a_cloud_free_patch_takes_a_bright_spectrum_and_keeps_its_texture(clear_ground):
    image, label = clear_ground
    before = image.copy()
    generator = SceneGenerator(SyntheticConfig(bands=tuple(BANDS)))
    rng = np.random.default_rng(5)
    index = [ALL_BANDS.index(name) for name in BANDS]
    low = np.min([np.asarray(SURFACES[s][0])[index] for s in repaint.SURFACES], axis=0)
    high = np.max([np.asarray(SURFACES[s][1])[index] for s in repaint.SURFACES], axis=0)
    ratios = []
    for _ in range(12):
        painted, done = repaint.repaint_bright(image, label, BANDS, rng, generator)
        assert done and painted.shape == image.shape and painted.dtype == np.float32
        np.testing.assert_array_equal(np.isnan(painted), np.isnan(image))
        valid = (label != IGNORE) & ~np.isnan(image).any(axis=0)
        brightness = image.mean(axis=0)
        relative = np.clip(brightness / np.median(brightness[valid]), *repaint.TEXTURE_RANGE)
        spectrum = painted[:, valid] / relative[valid]  # per band one value: the surface's spectrum
        np.testing.assert_allclose(spectrum, spectrum[:, :1] * np.ones_like(spectrum), rtol=1e-5)
        assert np.all(spectrum[:, 0] >= low - 1e-6) and np.all(spectrum[:, 0] <= high + 1e-6)
        ratios.append(float(spectrum[3, 0] / spectrum[2, 0]))  # NIR / red
    # snow (NIR/red 0.77-0.87), ice (0.45-0.64) and sand (1.1-1.2) are all drawn
    assert min(ratios) < 0.7 and max(ratios) > 1.0 and any(0.7 <= r <= 0.9 for r in ratios)
    np.testing.assert_array_equal(image, before)  # the input is left alone


def test_path_radiance_is_added_for_top_of_atmosphere_patches(clear_ground):
    image, label = clear_ground
    generator = SceneGenerator(SyntheticConfig(bands=tuple(BANDS)))
    offsets = np.array([0.06, 0.04, 0.025, 0.01], np.float32)[:, None, None]
    plain, _ = repaint.repaint_bright(image, label, BANDS, np.random.default_rng(9), generator)
    toa, _ = repaint.repaint_bright(image, label, BANDS, np.random.default_rng(9), generator, offsets)
    np.testing.assert_allclose(toa - plain, np.broadcast_to(offsets, image.shape), atol=1e-6)


def test_a_patch_with_cloud_or_mostly_nodata_is_left_as_it_is(clear_ground):
    image, label = clear_ground
    generator = SceneGenerator(SyntheticConfig(bands=tuple(BANDS)))
    cloudy = label.copy()
    cloudy[10, 10] = CLOUD  # one pixel of cloud is enough
    same, done = repaint.repaint_bright(image, cloudy, BANDS, np.random.default_rng(1), generator)
    assert not done and same is image
    holes = image.copy()
    holes[:, :40] = np.nan
    same, done = repaint.repaint_bright(holes, label, BANDS, np.random.default_rng(1), generator)
    assert not done and same is holes
