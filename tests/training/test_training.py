"""The training pipeline's parts: generator, model, loss, metrics, split, checkpoint choice, export."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is installed by make setup (requirements-training.txt)")

from labelmigration.training.export import export_onnx, model_metadata, parity  # noqa: E402
from labelmigration.training.metrics import Counts, scores  # noqa: E402
from labelmigration.training.model import CloudUNet  # noqa: E402
from labelmigration.training.scene import CLOUD, IGNORE, NOT_CLOUD, SHADOW  # noqa: E402
from labelmigration.training.synthetic import (SceneGenerator, SyntheticConfig,  # noqa: E402
                                               cloud_label, fractal_noise, gaussian_blur)
from labelmigration.training.train import TrainConfig  # noqa: E402
from labelmigration.training.train import loss_function, train  # noqa: E402
from labelmigration.tests.support.rasters import from_origin, write_raster  # noqa: E402


def test_generator_is_deterministic_and_labels_follow_cloud_opacity():
    generator = SceneGenerator(SyntheticConfig(size=64))
    first, again = generator.scene(7, 3), generator.scene(7, 3)
    assert np.array_equal(first.image, again.image) and np.array_equal(first.label, again.label)
    assert not np.array_equal(first.image, generator.scene(7, 4).image)
    # the label is cloud_label(alpha): recompute alpha with the same random stream
    rng = np.random.default_rng([7, 3])
    generator._surface(rng, 64)
    alpha = generator._clouds(rng, 64)
    assert np.array_equal(first.label, cloud_label(alpha))
    assert first.image.shape == (4, 64, 64) and first.bands == ["blue", "green", "red", "nir"]


def test_label_outline_includes_thick_cloud_and_a_margin_of_thin_edge():
    alpha = np.zeros((64, 64), np.float32)
    alpha[28:36, 28:36] = 1.0  # a thick square
    alpha[5, 5] = 0.2  # a lone faint pixel: below both thresholds once smoothed
    label = cloud_label(alpha)
    assert label[28:36, 28:36].all()
    assert label[26, 32] == 1 and label[32, 25] == 1  # the pen's margin around the cloud
    assert label[32, 10] == 0 and label[5, 5] == 0 and label[50, 50] == 0
    blurred = gaussian_blur(alpha, 3.0)
    assert blurred.sum() == pytest.approx(alpha.sum(), rel=1e-4)  # a blur keeps the total


def test_synthetic_clouds_are_brighter_than_the_ground_in_the_visible():
    generator = SceneGenerator(SyntheticConfig(size=96, clear_fraction=0.0, thin_fraction=0.0))
    brighter = 0
    scenes = [generator.scene(1, i) for i in range(8)]
    for scene in scenes:
        cloud, clear = scene.label == 1, scene.label == 0
        if cloud.sum() > 50 and clear.sum() > 50:
            brighter += np.median(scene.image[0][cloud]) > np.median(scene.image[0][clear])
    assert brighter >= 6


def test_fractal_noise_is_standardised_and_smoother_with_higher_beta():
    rng = np.random.default_rng(0)
    rough, smooth = fractal_noise(rng, 128, 1.0), fractal_noise(rng, 128, 3.5)
    for field in (rough, smooth):
        assert abs(field.mean()) < 1e-4 and abs(field.std() - 1) < 1e-3
    assert np.abs(np.diff(smooth, axis=1)).mean() < 0.5 * np.abs(np.diff(rough, axis=1)).mean()


def test_model_keeps_any_input_size_and_gives_probabilities():
    model = CloudUNet(4, 1).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 4, 37, 61))
    assert out.shape == (2, 1, 37, 61)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_metrics_by_hand():
    predicted = np.array([[1, 1, 0], [0, 1, 0]])
    truth = np.array([[1, 0, 0], [1, IGNORE, 0]], dtype=np.uint8)
    # known pixels: tp 1 (0,0), fp 1 (0,1), fn 1 (1,0), tn 2
    result = scores(predicted, truth)
    assert result == pytest.approx({"accuracy": 3 / 5, "precision": 1 / 2, "recall": 1 / 2, "iou": 1 / 3})
    counts = Counts().add(predicted, truth)
    counts += Counts().add(predicted, truth)
    assert (counts.tp, counts.fp, counts.fn, counts.tn) == (2, 2, 2, 4)


def _labels(rows):
    return torch.tensor([rows], dtype=torch.uint8)


def _logits(per_pixel):
    """(1, 3, 1, n) logits from a list of per-pixel (clear, cloud, shadow) triples."""
    return torch.tensor(per_pixel, dtype=torch.float32).T[None, :, None, :]


def test_loss_ignores_unknown_pixels_and_reads_not_cloud_as_clear_or_shadow():
    config = TrainConfig(dice_weight=0.0, distill_weight=0.0)
    no_teacher = torch.zeros(1, 3, 1, 3), torch.zeros(1, dtype=torch.bool)
    labels = _labels([[CLOUD, NOT_CLOUD, IGNORE]])
    confident = _logits([[-9, 9, -9], [9, -9, -9], [0, 0, 0]])
    changed = _logits([[-9, 9, -9], [9, -9, -9], [25, -25, 3]])  # only the IGNORE pixel differs
    assert float(loss_function(confident, labels, *no_teacher, config)) == pytest.approx(
        float(loss_function(changed, labels, *no_teacher, config)))
    assert float(loss_function(confident, labels, *no_teacher, config)) < 0.01
    # "not cloud" is satisfied by shadow as well as by clear, and not by cloud
    as_shadow = _logits([[-9, 9, -9], [-9, -9, 9], [0, 0, 0]])
    as_cloud = _logits([[-9, 9, -9], [-9, 9, -9], [0, 0, 0]])
    assert float(loss_function(as_shadow, labels, *no_teacher, config)) < 0.01
    assert float(loss_function(as_cloud, labels, *no_teacher, config)) > 5


def test_distillation_pulls_towards_the_teacher_only_where_it_spoke():
    config = TrainConfig(dice_weight=0.0, distill_weight=1.0)
    labels = _labels([[IGNORE, IGNORE]])
    teacher = torch.zeros(1, 3, 1, 2)
    teacher[0, SHADOW] = 1.0
    logits_shadow, logits_clear = _logits([[-9, -9, 9]] * 2), _logits([[9, -9, -9]] * 2)
    spoke, silent = torch.tensor([True]), torch.tensor([False])
    assert float(loss_function(logits_shadow, labels, teacher, spoke, config)) < 0.01
    assert float(loss_function(logits_clear, labels, teacher, spoke, config)) > 5
    assert float(loss_function(logits_clear, labels, teacher, silent, config)) == 0.0


def test_export_matches_pytorch_and_carries_the_metadata(tmp_path):
    onnx = pytest.importorskip("onnx")
    model = CloudUNet(4, 1, (4, 8, 8, 8))
    path = export_onnx(model, tmp_path / "m.onnx", model_metadata(("blue", "green", "red", "nir"), [0.1] * 4,
                                                                  [0.2] * 4, threshold=0.4, tile_size=64,
                                                                  reflectance_range=[[0.0, 1.5]] * 4))
    assert parity(model, path) < 1e-4
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(path)).metadata_props}
    assert meta["model_type"] == "Segmentor" and meta["bands"] == ["blue", "green", "red", "nir"]
    # mean/std of reflectance in Deepness's domain DN / 255 (reflectance = DN x 1e-4): divided by 255e-4
    assert meta["seg_thresh"] == 0.4 and meta["standardization_std"] == pytest.approx([0.2 / 0.0255] * 4)
    assert meta["standardization_mean"] == pytest.approx([0.1 / 0.0255] * 4)
    np.testing.assert_allclose(meta["input_range"], [[-0.5, 7.0]] * 4)  # (reflectance - 0.1) / 0.2
    # Deepness takes the input's last dimension as the tile size: rows and columns fixed, batch dynamic
    dims = [d.dim_param or d.dim_value for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim]
    assert dims[1:] == [4, 64, 64] and isinstance(dims[0], str)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary left behind


def test_export_writes_the_softmax_as_elementwise_operations(tmp_path):
    """A three-class export (clear, cloud, shadow, as the bundled model): onnxruntime's Softmax over channels
    is slow on CPU, so the export carries ReduceMax/Exp/ReduceSum/Div (core/segmentation_training/onnx_softmax);
    its probabilities must still be PyTorch's softmax."""
    onnx = pytest.importorskip("onnx")
    model = CloudUNet(4, 3, (4, 8, 8))
    path = export_onnx(model, tmp_path / "m3.onnx", model_metadata(("blue", "green", "red", "nir"), [0.1] * 4,
                                                                   [0.2] * 4, tile_size=0,
                                                                   class_names=("clear", "cloud", "shadow")))
    assert "Softmax" not in {node.op_type for node in onnx.load(str(path)).graph.node}
    assert parity(model, path) < 1e-5


def write_toy_data(folder, rng):
    """Tiny copies of the full training data's layout (README.md, Training): L8 Biome npz, On Cloud N npz, eo-learn
    frames."""
    (folder / "l8biome").mkdir(parents=True)
    (folder / "oncloudn").mkdir()
    (folder / "eolearn_s2").mkdir()
    size = 64
    label = np.zeros((4, size, size), np.uint8)
    label[:, 10:30, 10:40] = 1
    label[:, 40:50, 5:20] = 3
    label[1, :, 60:] = 255
    image = rng.uniform(0.02, 0.2, (4, 4, size, size)).astype(np.float32)
    image[:, :, label[0] == 1] += 0.5
    np.savez(folder / "l8biome" / "l8biome_lkpeng.npz", image=image, image_extra=image * 0.5, label=label,
             chip_names=np.array(["Barren_00_0001", "SnowIce_00_0002", "Urban_00_0003", "Water_00_0004"]))
    chips = (image[:2] * 10000).astype(np.uint16)
    np.savez(folder / "oncloudn" / "oncloudn_5chips.npz", image=chips, label=(label[:2] == 1).astype(np.uint8),
             chip_names=np.array(["chip_a", "chip_b"]), band_names=np.array(["B02", "B03", "B04", "B08"]))
    np.save(folder / "eolearn_s2" / "REFERENCE_SCENES.npy", rng.uniform(0, 0.3, (5, 20, 20, 13)).astype(np.float32))


def run_training(command, repo_root):
    """The training command as a user runs it, outside any QGIS profile."""
    env = dict(os.environ)
    env.pop("QGIS_CUSTOM_CONFIG_PATH", None)
    result = subprocess.run(command, cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_training_command_runs_from_scratch(tmp_path, repo_root):
    """`python -m training.cloud` end to end at toy size: teacher, folds, final model, export, parity, card; with an
    unlabelled extra scene that only the teacher labels."""
    pytest.importorskip("ukis_csmask", reason="the teacher labels come from ukis-csmask (requirements-dev.txt)")
    onnx = pytest.importorskip("onnx")
    data, out = tmp_path / "data", tmp_path / "run"
    write_toy_data(data, np.random.default_rng(0))
    unlabelled = tmp_path / "archive" / "S2A_MSIL2A_20200601_toy.tif"
    unlabelled.parent.mkdir()
    write_raster(unlabelled, np.random.default_rng(2).integers(1, 3000, (4, 40, 40)).astype(np.uint16),
                 "EPSG:32633", from_origin(500000, 6000000, 10, 10), nodata=0,
                 descriptions=("B02", "B03", "B04", "B08"))
    command = [sys.executable, "-m", "training.cloud", "--data", str(data), "--out", str(out), "--name", "toy",
               "--folds", "2", "--synthetic", "2", "--patch", "32", "--batch", "2", "--epochs", "1", "--steps", "2",
               "--widths", "4,8,8,8", "--extra", f"unlabelled:{unlabelled.parent}", "--extra-share", "0.2",
               "--composites", "4", "--bright-repaint", "0.5", "--weight-decay", "0.02"]
    run_training(command, repo_root)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parity"] < 1e-4
    assert summary["scenes"]["extra-unlabelled-l2a"] == ["S2A_MSIL2A_20200601_toy"]  # trained on, never scored
    with np.load(out / "teacher_labels.npz") as teacher:
        keys = teacher.files  # source.name.bands.checksum of the pixels
        assert any(key.startswith("extra-unlabelled-l2a.S2A_MSIL2A_20200601_toy.blue-green-red-nir.") for key in keys)
        assert sum(key.startswith("composite-") for key in keys) == 4  # the teacher labels each composite too
    assert sum(len(names) for source, names in summary["scenes"].items() if source.startswith("composite-")) == 4
    # every labelled scene is scored exactly once, by the fold that held it out
    scored = summary["crossval"]["scenes"]
    assert sorted(scored) == ["Barren_00_0001", "SnowIce_00_0002", "Urban_00_0003", "Water_00_0004",
                              "chip_a", "chip_b"]
    assert {block["fold"] for block in scored.values()} == {0, 1}
    assert set(summary["crossval"]["biomes"]) == {"Barren", "SnowIce", "Urban", "Water"}
    assert summary["scenes"]["eolearn"] == [f"eolearn_frame{i}" for i in range(5)]  # trained on, never scored
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(out / "toy.onnx")).metadata_props}
    assert meta["class_names"] == {"0": "clear", "1": "cloud", "2": "shadow"}
    assert (out / "toy.onnx").stat().st_size == summary["model_bytes"]
    assert sorted(p.name for p in (out / "overlays").iterdir())[0] == "Barren_00_0001.png"
    card = (out / "toy.md").read_text()
    for credit in ("ukis-csmask", "Foga et al. 2017", "doi:10.34911/RDNT.HFQ6M7", "CC-BY-4.0"):
        assert credit in card
    assert "**Extra (unlabelled-l2a)**: 1 scene given by --extra, 20% of each batch" in card
    assert (f"--extra unlabelled:{unlabelled.parent} --extra-share 0.2 --composites 4 --composite-share 0.3 "
            f"--bright-repaint 0.5 --weight-decay 0.02 --install") in card
    assert "**Repainted bright ground**: 50% of the cloud-free real patches" in card
    assert "AdamW weight decay 0.02" in card and summary["config"]["weight_decay"] == 0.02
    assert not (repo_root / "models" / "toy.onnx").exists()


@pytest.mark.slow
def test_training_command_makes_the_six_band_variant(tmp_path, repo_root):
    """--bands 6: blue to nir plus swir16 and swir22; On Cloud N (no SWIR) sits out, Biome and eo-learn train."""
    pytest.importorskip("ukis_csmask", reason="the teacher labels come from ukis-csmask (requirements-dev.txt)")
    onnx = pytest.importorskip("onnx")
    data, out = tmp_path / "data", tmp_path / "run"
    write_toy_data(data, np.random.default_rng(1))
    command = [sys.executable, "-m", "training.cloud", "--data", str(data), "--out", str(out), "--name", "toy6",
               "--bands", "6", "--folds", "2", "--synthetic", "2", "--patch", "32", "--batch", "2", "--epochs", "1",
               "--steps", "2", "--widths", "4,8,8"]
    run_training(command, repo_root)
    summary = json.loads((out / "summary.json").read_text())
    assert "oncloudn" not in summary["scenes"] and len(summary["scenes"]["l8biome"]) == 4
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(out / "toy6.onnx")).metadata_props}
    assert meta["bands"] == ["blue", "green", "red", "nir", "swir16", "swir22"]
    card = (out / "toy6.md").read_text()
    assert "B11 (SWIR 1.6 um)" in card and "Not in this 6-band variant" in card


def _toy_scenes():
    generator = SceneGenerator(SyntheticConfig(size=48))
    scenes = []
    for index, scene in enumerate(generator.scenes(0, 4)):
        scene.source = "l8biome" if index % 2 else "oncloudn"
        scenes.append(scene)
    return scenes


def test_training_is_deterministic_with_a_seed():
    config = TrainConfig(patch=32, batch=2, epochs=1, steps_per_epoch=3, seed=5, widths=(4, 8, 8, 8))
    states = []
    for seed in (5, 5, 6):
        trained = train(TrainConfig(**{**config.__dict__, "seed": seed}), _toy_scenes(), log=lambda m: None)
        states.append(trained.model.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])
