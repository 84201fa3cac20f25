"""Teacher-consistent composites (training/composites.py): what each pixel is made of, and that cross-validation
never trains on a composite with a held-out part. Expected answers are worked out by hand from scenes whose
every pixel says which scene it came from (constant reflectance per scene)."""
import argparse

import numpy as np
import pytest

from labelmigration.training import composites, crossval
from labelmigration.training.scene import CLOUD, IGNORE, NOT_CLOUD, SHADOW, Scene
from labelmigration.training.synthetic import SceneGenerator, SyntheticConfig

BANDS = ["blue", "green", "red", "nir"]


def _flat(name, value, label, source="l8biome", size=64):
    return Scene(name, np.full((4, size, size), value, np.float32), np.full((size, size), label, np.uint8), BANDS,
                 source=source)


def test_each_pixel_comes_from_one_part_with_that_part_s_label(monkeypatch):
    monkeypatch.setattr(composites, "PASTE_PROBABILITY", 0.0)  # no pasted clouds: every pixel is one part's
    base, over = _flat("Barren_01_0001", 0.1, 0), _flat("SnowIce_01_0002", 0.6, CLOUD)
    before = base.image.copy(), over.image.copy()
    rng = np.random.default_rng(3)
    generator = SceneGenerator(SyntheticConfig(bands=tuple(BANDS)))
    shares = []
    for index in range(20):
        made = composites.composite(base, over, 64, rng, generator, f"c{index}", "composite-l1c")
        from_over = made.label == CLOUD
        assert from_over.any() and (~from_over).any()
        gain = made.image[0, ~from_over][0] / 0.1  # one gain for every pixel and band
        assert 0.85 - 1e-6 <= gain <= 1.15 + 1e-6
        np.testing.assert_allclose(made.image[:, ~from_over], 0.1 * gain, rtol=1e-5)
        np.testing.assert_allclose(made.image[:, from_over], 0.6 * gain, rtol=1e-5)
        assert composites.parts(made) == ["Barren_01_0001", "SnowIce_01_0002"]
        shares.append(from_over.mean())
    assert 0.15 - 0.02 <= min(shares) and max(shares) <= 0.65 + 0.02
    np.testing.assert_array_equal(base.image, before[0])  # inputs are left alone
    np.testing.assert_array_equal(over.image, before[1])


def test_pasted_clouds_are_labelled_as_paste_labels_them(monkeypatch):
    monkeypatch.setattr(composites, "PASTE_PROBABILITY", 1.0)
    base, over = _flat("Forest_01_0001", 0.05, 0), _flat("Forest_02_0002", 0.05, NOT_CLOUD)
    generator = SceneGenerator(SyntheticConfig(bands=tuple(BANDS), clear_fraction=0.0))
    made = composites.composite(base, over, 64, np.random.default_rng(5), generator, "c", "composite-l1c")
    cloud = made.label == CLOUD
    assert cloud.any() and set(np.unique(made.label)) <= {0, CLOUD, SHADOW, NOT_CLOUD}
    assert made.image[:, cloud].mean() > 0.05 * 1.15  # pasted cloud is brighter than any gain makes the ground


def test_small_scenes_are_zoomed_and_their_nodata_ignored():
    small = _flat("eolearn_frame0", 0.2, IGNORE, "eolearn", size=20)
    holed = _flat("Water_01_0003", 0.3, 0, size=64)
    holed.image[:, :32] = np.nan
    generator = SceneGenerator(SyntheticConfig(bands=tuple(BANDS)))
    made = composites.composite(holed, small, 64, np.random.default_rng(0), generator, "c", "composite-l1c")
    assert made.image.shape == (4, 64, 64)
    assert np.all(made.label[np.isnan(made.image).any(axis=0)] == IGNORE)


def test_levels_are_not_mixed_and_share_the_count_by_scenes():
    toa = [_flat(f"Barren_{i:02d}_0000", 0.1 * i, 0) for i in range(1, 4)]
    surface = [_flat(f"chip_{i}", 0.05, NOT_CLOUD, "oncloudn") for i in range(3)]
    made = crossval.composite_scenes(toa + surface + [_flat("synthetic-0", 0.3, 0, "synthetic")], 12, 32, 1)
    assert sorted({m.source for m in made}) == ["composite-l1c", "composite-l2a"]
    assert sum(m.source == "composite-l1c" for m in made) == 6
    for scene in made:
        members = set(composites.parts(scene))
        assert len(members) == 2 and "synthetic-0" not in members
        assert members <= {s.name for s in (toa if scene.source.endswith("l1c") else surface)}
    assert crossval.teacher_level("composite-l2a") == "l2a"  # the teacher of the parts' level labels it


def test_cross_validation_never_trains_on_a_composite_with_a_held_out_part(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from labelmigration.training.model import CloudUNet
    from labelmigration.training.train import TrainConfig, TrainedModel

    real = [_flat(f"Barren_{i:02d}_0000", 0.1, 0, size=8) for i in range(4)]
    made = [Scene(f"composite-l1c-{a}{b}", real[a].image, real[a].label, BANDS,
                  group=f"{real[a].name}+{real[b].name}", source="composite-l1c") for a in range(4) for b in range(4)
            if a != b]
    folds = crossval.assign_folds(real, 2)
    seen = []

    def recording_train(config, training, log=print):
        seen.append({s.name for s in training})
        torch.manual_seed(0)
        return TrainedModel(CloudUNet(4, 3, (4, 4, 4, 4)).eval(), [0.0] * 4, [1.0] * 4, {}, 0.0)

    monkeypatch.setattr(crossval, "train", recording_train)
    crossval.cross_validate(real + made, TrainConfig(bands=tuple(BANDS)), 2, tmp_path, log=lambda m: None)
    for fold, trained in enumerate(seen):
        held = {name for name, f in folds.items() if f == fold}
        usable = {m.name for m in made if not held & set(composites.parts(m))}
        assert {name for name in trained if name.startswith("composite")} == usable
        assert usable  # each fold keeps the composites of its training scenes


def test_teacher_cache_tells_composites_of_the_same_name_apart(tmp_path, monkeypatch):
    calls = []

    def fake_soft_labels(images, cache):  # the teacher itself is tested in test_cloud_recipe.py
        calls.append(len(images))
        return [np.full((3,) + image.shape[1:], image.flat[0], np.float16) for image, _, _ in images]

    monkeypatch.setattr(crossval, "soft_labels", fake_soft_labels)
    first = [_flat("composite-l1c-0000", 0.1, 0, "composite-l1c")]
    second = [_flat("composite-l1c-0000", 0.4, 0, "composite-l1c")]
    crossval.add_teacher_labels(first, tmp_path / "t.npz", lambda m: None)
    crossval.add_teacher_labels(second, tmp_path / "t.npz", lambda m: None)
    assert calls == [1, 1]  # other pixels under the same name: labelled again, not read from the cache
    assert second[0].soft[0, 0, 0] == pytest.approx(0.4, abs=1e-3)


def test_composites_take_their_share_of_each_batch():
    from labelmigration.training.cloud import batch_shares

    scenes = [_flat("a", 0.1, 0, "composite-l1c")] * 3 + [_flat("b", 0.1, 0, "composite-l2a")]
    args = argparse.Namespace(extra_share=0.1, composite_share=0.4)
    shares = batch_shares({"l8biome": 0.5, "oncloudn": 0.5}, scenes, ["extra-pairs"], args)
    assert shares == pytest.approx({"l8biome": 0.3, "oncloudn": 0.3, "extra-pairs": 0.06,
                                    "composite-l1c": 0.3, "composite-l2a": 0.1})
    assert sum(shares.values()) == pytest.approx(1.06)
