"""The training pipeline's parts: generator, model, loss, metrics, split, checkpoint choice, export."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is installed by make setup (requirements-training.txt)")

from labelmigration.training import train as train_module  # noqa: E402
from labelmigration.training.export import export_onnx, model_metadata, parity  # noqa: E402
from labelmigration.training.metrics import Counts, scores  # noqa: E402
from labelmigration.training.model import CloudUNet  # noqa: E402
from labelmigration.training.scene import IGNORE, Scene  # noqa: E402
from labelmigration.training.synthetic import (SceneGenerator, SyntheticConfig,  # noqa: E402
                                               cloud_label, fractal_noise, gaussian_blur)
from labelmigration.training.train import TrainConfig, loss_function, split_of, train  # noqa: E402


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


def test_loss_ignores_unknown_pixels():
    logits = torch.zeros(1, 1, 2, 2)
    labels = torch.tensor([[[1, 0], [IGNORE, IGNORE]]], dtype=torch.uint8)
    changed = logits.clone()
    changed[0, 0, 1, :] = 25.0  # only where the label is IGNORE
    assert float(loss_function(logits, labels, 1.0)) == pytest.approx(float(loss_function(changed, labels, 1.0)))
    confident = torch.tensor([[[[9.0, -9.0], [0.0, 0.0]]]])
    assert float(loss_function(confident, labels, 1.0)) < 0.01


def test_split_is_by_group_and_stable():
    def scene(name, group):
        return Scene(name, np.zeros((1, 4, 4), np.float32), np.zeros((4, 4), np.uint8), ["blue"], group)

    patches = [scene(f"patch_{i}", "LC08_scene_A") for i in range(20)]
    assert len({split_of(p) for p in patches}) == 1
    spread = {split_of(scene(f"s{i}", f"group_{i}")) for i in range(200)}
    assert spread == {"train", "validation", "test"}


def test_best_checkpoint_is_the_epoch_with_the_best_validation_iou(tmp_path, monkeypatch):
    generator = SceneGenerator(SyntheticConfig(size=48))
    splits = {"train": generator.scenes(0, 3), "validation": generator.scenes(1, 1), "test": []}
    ious = iter([0.2, 0.6, 0.4])
    saved_states = []

    def scripted_evaluate(model, scenes, mean, std, threshold=0.5):
        iou = next(ious)
        saved_states.append({k: v.clone() for k, v in model.state_dict().items()})
        hits = int(round(iou * 1000))
        return Counts(tp=hits, fp=1000 - hits, fn=0, tn=0)

    monkeypatch.setattr(train_module, "evaluate", scripted_evaluate)
    config = TrainConfig(patch=32, batch=2, epochs=3, steps_per_epoch=2, seed=1)
    result = train(config, splits, tmp_path, log=lambda message: None)
    assert result.best_epoch == 2 and result.best_iou == pytest.approx(0.6)
    checkpoint = torch.load(result.checkpoint, weights_only=False)
    assert checkpoint["epoch"] == 2
    for key, value in checkpoint["state"].items():
        assert torch.equal(value, saved_states[1][key]), key
    assert not all(torch.equal(checkpoint["state"][k], saved_states[2][k]) for k in checkpoint["state"])
    with open(result.metrics_csv) as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["iou"]) for r in rows] == pytest.approx([0.2, 0.6, 0.4])


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


@pytest.mark.slow
def test_training_command_runs_from_scratch(tmp_path, repo_root):
    """`python -m training.cloud` end to end at toy size: loop, best checkpoint, export, parity, card."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "training.cloud", "--out", str(out), "--name", "toy", "--real", "",
               "--synthetic-train", "4", "--synthetic-validation", "2", "--synthetic-test", "2", "--size", "64",
               "--patch", "48", "--batch", "2", "--epochs", "2", "--steps", "2", "--widths", "4,8,8,8"]
    env = dict(os.environ)
    env.pop("QGIS_CUSTOM_CONFIG_PATH", None)
    result = subprocess.run(command, cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parity"] < 1e-4
    with open(out / "metrics.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if r["set"] == "validation"]
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    best = max(rows, key=lambda r: float(r["iou"]))
    assert summary["best_epoch"] == int(best["epoch"])
    assert (out / "toy.onnx").stat().st_size == summary["model_bytes"]
    card = (out / "toy.md").read_text()
    assert "B02 (blue)" in card and "CC-BY-4.0" in card
    assert not (repo_root / "models" / "toy.onnx").exists()


def test_training_is_deterministic_with_a_seed(tmp_path):
    generator = SceneGenerator(SyntheticConfig(size=48))
    splits = {"train": generator.scenes(0, 3), "validation": generator.scenes(1, 1), "test": []}
    config = TrainConfig(patch=32, batch=2, epochs=1, steps_per_epoch=3, seed=5, widths=(4, 8, 8, 8))
    states = []
    for run in ("a", "b", "c"):
        seed = 6 if run == "c" else 5
        result = train(TrainConfig(**{**config.__dict__, "seed": seed}), splits, tmp_path / run, log=lambda m: None)
        states.append(torch.load(result.checkpoint, weights_only=False)["state"])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])
