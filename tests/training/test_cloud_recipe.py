"""The cloud model's recipe: real data readers, the teacher, pasted clouds, grouped folds."""
import numpy as np
import pytest

from labelmigration.training import crossval, datasets
from labelmigration.training.metrics import Counts
from labelmigration.training.paste import paste_clouds
from labelmigration.training.scene import CLEAR, CLOUD, IGNORE, NOT_CLOUD, SHADOW, Scene
from labelmigration.training.synthetic import SceneGenerator, SyntheticConfig

BIOME = "l8biome/l8biome_2patches.npz"  # two of the 36 patches (tests/data/README.md)


def test_biome_labels_follow_the_original_biome_codes(data_dir):
    """Expected from Biome's own codes (tests/data/README.md): 64 shadow, 128 clear, 192 thin, 255 thick cloud."""
    path = data_dir / "imagery" / BIOME
    scenes = datasets.read_l8biome(path)
    raw = np.load(path)["label_raw"]
    assert [s.name for s in scenes] == ["Forest_01_2715", "GrassCrops_09_2014"]
    assert len({s.group for s in scenes}) == 2
    assert scenes[0].bands == ["blue", "green", "red", "nir", "swir16", "swir22"]
    for scene, codes in zip(scenes, raw):
        known = scene.label != IGNORE
        assert np.array_equal(scene.label[known & (codes == 64)], np.full((known & (codes == 64)).sum(), SHADOW))
        assert (scene.label[codes == 128] == CLEAR).all()
        assert (scene.label[(codes == 192) | (codes == 255)] == CLOUD).all()
    assert [datasets.biome_of(s.name) for s in scenes] == ["Forest", "GrassCrops"]


def test_binary_labels_become_cloud_or_not_cloud():
    scene = Scene("chip", np.zeros((1, 2, 2), np.float32), np.array([[0, 1], [IGNORE, 0]], np.uint8), ["blue"])
    assert datasets.as_cloud_or_not(scene).label.tolist() == [[NOT_CLOUD, CLOUD], [IGNORE, NOT_CLOUD]]
    assert scene.label.tolist() == [[0, 1], [IGNORE, 0]]  # not modified


def test_teacher_gives_what_ukis_csmask_itself_classifies(data_dir):
    """Expected from ukis-csmask's own code (CSmask) on the same real Biome patch."""
    mask_module = pytest.importorskip("ukis_csmask.mask")
    from labelmigration.training.teacher import Teacher

    path = data_dir / "imagery" / BIOME
    scene = datasets.select_bands(datasets.read_l8biome(path)[0], ["blue", "green", "red", "nir"])
    probabilities = Teacher("4b_l1c").probabilities(scene.image, scene.bands)
    assert probabilities.shape == (3, 256, 256)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, atol=1e-4)
    pixels = np.nan_to_num(np.moveaxis(scene.image, 0, -1)).astype(np.float32)
    theirs = mask_module.CSmask(pixels, band_order=scene.bands, product_level="l1c", invalid_buffer=0).csm[..., 0]
    # ukis-csmask pads a 256 px image symmetrically and tiles it into shifted overlapping tiles (overlap 0.2,
    # ukis_csmask.utils.tile_array); the teacher runs
    # it as the one 256 px tile it is: the classes agree but for pixels near the borders
    agreement = probabilities.argmax(axis=0) == theirs
    assert agreement.mean() > 0.97 and agreement[32:-32, 32:-32].mean() > 0.98


def test_pasted_clouds_are_bright_labelled_cloud_and_leave_the_input_alone():
    rng = np.random.default_rng(3)
    bands = ["blue", "green", "red", "nir"]
    ground = rng.uniform(0.02, 0.1, (4, 96, 96)).astype(np.float32)
    label = np.full((96, 96), NOT_CLOUD, np.uint8)
    label[:, :8] = IGNORE
    before = ground.copy(), label.copy()
    generator = SceneGenerator(SyntheticConfig(bands=tuple(bands), clear_fraction=0.0, thin_fraction=0.0))
    for seed in range(5):
        image, new_label = paste_clouds(ground, label, bands, np.random.default_rng(seed), generator)
        cloud = new_label == CLOUD
        if cloud.sum() > 100 and (new_label == NOT_CLOUD).sum() > 100:
            assert np.median(image[0][cloud]) > 2 * np.median(image[0][new_label == NOT_CLOUD])
        if (new_label == SHADOW).sum() > 50:
            assert np.median(image[3][new_label == SHADOW]) < np.median(ground[3][new_label == SHADOW])
        assert (new_label[:, :8] == IGNORE).all()
    assert np.array_equal(ground, before[0]) and np.array_equal(label, before[1])


def _scene(name, source):
    return Scene(name, np.zeros((1, 8, 8), np.float32), np.zeros((8, 8), np.uint8), ["blue"], source=source)


def test_folds_split_by_scene_and_spread_biomes_and_chips():
    names = [f"{biome}_{i:02d}_0000" for biome in ("Barren", "Forest", "SnowIce") for i in range(4)]
    scenes = [_scene(n, "l8biome") for n in names] + [_scene(f"chip_{i}", "oncloudn") for i in range(5)]
    scenes.append(_scene("synthetic-1", "synthetic"))
    folds = crossval.assign_folds(scenes, 6)
    assert "synthetic-1" not in folds  # trains always, scored never
    assert sorted(folds[f"chip_{i}"] for i in range(5)) == [0, 1, 2, 3, 4]
    for fold in range(6):
        held = [n for n in names if folds[n] == fold]
        assert len(held) == 2 and len({datasets.biome_of(n) for n in held}) == len(held) or len(held) < 2


def test_cross_validation_never_scores_a_scene_its_model_trained_on(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from labelmigration.training.model import CloudUNet
    from labelmigration.training.train import TrainConfig, TrainedModel

    scenes = [_scene(f"Barren_{i:02d}_0000", "l8biome") for i in range(4)]
    scenes += [_scene("chip_0", "oncloudn"), _scene("synthetic-0", "synthetic")]
    seen = []

    def recording_train(config, training, log=print):
        seen.append({s.name for s in training})
        torch.manual_seed(0)
        return TrainedModel(CloudUNet(1, 3, (4, 4, 4, 4)).eval(), [0.0], [1.0], {}, 0.0)

    monkeypatch.setattr(crossval, "train", recording_train)
    report = crossval.cross_validate(scenes, TrainConfig(bands=("blue",)), 2, tmp_path, log=lambda m: None)
    assert len(seen) == 2
    for name, block in report["scenes"].items():
        assert name not in seen[block["fold"]]
        assert name in seen[1 - block["fold"]]
    assert all("synthetic-0" in trained for trained in seen)


def test_unlabelled_scenes_get_the_teacher_of_their_level(tmp_path, data_dir):
    """An --extra unlabelled:<folder> scene (source extra-unlabelled-<level>) is labelled by ukis-csmask's model of
    its level: the expected probabilities are that model's own (training/teacher.py Teacher) on the same pixels."""
    pytest.importorskip("ukis_csmask", reason="the teacher labels come from ukis-csmask (requirements-dev.txt)")
    from labelmigration.training.teacher import Teacher

    [patch] = [datasets.select_bands(s, ["blue", "green", "red", "nir"])
               for s in datasets.read_l8biome(data_dir / "imagery" / BIOME)][:1]
    unlabelled = [Scene(f"frame_{level}", patch.image, np.full(patch.label.shape, IGNORE, np.uint8), patch.bands,
                        source=f"extra-unlabelled-{level}") for level in ("l1c", "l2a")]
    labelled_elsewhere = Scene("pairs", patch.image, patch.label, patch.bands, source="extra-pairs")
    crossval.add_teacher_labels(unlabelled + [labelled_elsewhere], tmp_path / "teacher.npz", lambda message: None)
    for scene, variant in zip(unlabelled, ("4b_l1c", "4b_l2a")):
        np.testing.assert_allclose(scene.soft, Teacher(variant).probabilities(patch.image, patch.bands),
                                   atol=1e-3)  # the cache keeps float16
    assert np.abs(unlabelled[0].soft - unlabelled[1].soft).max() > 0.05  # two models, two opinions
    assert labelled_elsewhere.soft is None  # labelled extra sources train on their labels alone, as before


def test_bright_clear_ground_called_cloud_is_counted_by_hand():
    """Expected by hand on a 2 x 3 scene: bright (mean of blue, green, red above 0.2) and labelled clear or not cloud
    are the pixels where over-prediction is counted; cloud and shadow labels and dark ground are not."""
    image = np.zeros((4, 2, 3), np.float32)
    image[:3] = np.array([[0.5, 0.5, 0.5], [0.1, 0.5, 0.5]], np.float32)
    label = np.array([[CLEAR, NOT_CLOUD, CLOUD], [CLEAR, SHADOW, CLEAR]], np.uint8)
    scene = Scene("bright", image, label, ["blue", "green", "red", "nir"], source="l8biome")
    predicted = np.array([[CLOUD, CLEAR, CLOUD], [CLOUD, CLOUD, CLOUD]])
    assert crossval.bright_clear_calls(predicted, scene) == [2, 3]  # (0,0) and (1,2) of (0,0), (0,1), (1,2)
    per_scene = {name: {"source": "l8biome", "fold": 0, "counts": {"cloud": Counts(), "shadow": Counts()},
                        "bright_clear": calls} for name, calls in (("a", [2, 3]), ("b", [0, 5]))}
    block = crossval.summarise(per_scene)["sources"]["l8biome"]
    assert block["bright_clear_called_cloud"] == {"share": 2 / 8, "pixels": 8}
    assert block["teacher_bright_clear_called_cloud"] == {"share": None, "pixels": 0}
