"""The change score (core.quality.change) on real Sentinel-2 texture.

The pairs are 128 x 128 windows of On Cloud N chips 0 and 1 (tests/data/README.md: real Sentinel-2
L2A, B02 B03 B04 B08), those at least half clear; the chips' human-drawn cloud labels are the pairs'
cloud masks. Their labels stand in for hand-drawn land-cover labels: three spectral clusters of the
clear pixels (k-means), smoothed with a 7 x 7 majority so that boundaries are blobby and the
edge pixels mixed, as in a drawn label. These pairs are unchanged by construction. A change is made
in one window's image while its label stays: the pixels of one class inside a 48 x 48 "field" get the
spectrum of another class (its median), keeping their own texture (pixel / own class median).
"""
import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage
from scipy.cluster.vq import kmeans2

from labelmigration.core.quality.change import change_score, outlier_limit, outliers, score_pair

SIZE = 128


def _drawn_label(window, clear, classes=3):
    features = window[:, clear].T
    mean, spread = features.mean(axis=0), features.std(axis=0)
    centres, _ = kmeans2((features - mean) / spread, classes, seed=7, minit="++")
    everything = (window.reshape(window.shape[0], -1).T - mean) / spread
    nearest = np.argmin(((everything[:, None, :] - centres[None]) ** 2).sum(-1), axis=1).reshape(clear.shape)
    votes = np.stack([ndimage.uniform_filter((nearest == c).astype(float), 7) for c in range(classes)])
    return votes.argmax(axis=0).astype(np.uint8)


@pytest.fixture(scope="module")
def pairs(data_dir):
    with np.load(data_dir / "imagery" / "oncloudn" / "oncloudn_2chips.npz") as data:
        images, clouds = data["image"].astype(float) / 10000.0, data["label"]
    found = []
    for chip in (0, 1):
        for row in range(0, 512, SIZE):
            for col in range(0, 512, SIZE):
                window = images[chip][:, row:row + SIZE, col:col + SIZE]
                clear = clouds[chip][row:row + SIZE, col:col + SIZE] == 0
                if clear.mean() >= 0.5:
                    found.append((window, _drawn_label(window, clear), clear))
    assert len(found) >= 12
    return found


def _ndvi(window):
    return (window[3] - window[2]) / (window[3] + window[2])


def _changed(window, label, clear, source, target):
    """``window`` with the ``source`` class inside the 48 x 48 box richest in it turned into ``target``."""
    members = (label == source) & clear
    density = ndimage.uniform_filter(members.astype(float), 48)
    row, col = np.unravel_index(np.argmax(density), density.shape)
    field = np.zeros_like(members)
    field[max(0, row - 24):row + 24, max(0, col - 24):col + 24] = True
    field &= members
    own = np.median(window[:, members], axis=1)
    other = np.median(window[:, (label == target) & clear], axis=1)
    changed = window.copy()
    changed[:, field] = window[:, field] / own[:, None] * other[:, None]
    return changed, field


def _scores(pairs):
    return [change_score(window, label, clear).score for window, label, clear in pairs]


def test_unchanged_pairs_agree_with_their_labels(pairs):
    scores = _scores(pairs)
    assert all(s is not None for s in scores)
    assert max(scores) < 0.1, scores
    assert not any(outliers(scores)), (scores, outlier_limit(scores))


@pytest.mark.parametrize("which", range(4))
@pytest.mark.parametrize("change", ["field to bare soil", "bare area grown green"])
def test_a_changed_pair_is_an_outlier(pairs, which, change):
    scores = _scores(pairs)
    window, label, clear = pairs[which]
    ndvi = [np.median(_ndvi(window)[(label == c) & clear]) for c in range(3)]
    green, bare = int(np.argmax(ndvi)), int(np.argmin(ndvi))
    source, target = (green, bare) if change == "field to bare soil" else (bare, green)
    changed, field = _changed(window, label, clear, source, target)
    assert field.sum() >= 200
    result = change_score(changed, label, clear)
    assert result.agreement[source] < min(result.agreement[c] for c in result.agreement if c != source) + 1e-9
    scores[which] = result.score
    flags = outliers(scores)
    assert flags[which] and sum(flags) == 1, (which, result, scores, outlier_limit(scores))


def test_no_score_without_two_classes():
    image = np.random.default_rng(1).random((4, 64, 64))
    result = change_score(image, np.ones((64, 64), np.uint8))
    assert result.score is None and "nothing to tell apart" in result.note


def test_outlier_rule():
    steady = [0.01, 0.02, 0.015, 0.03, 0.02, 0.025, 0.01]
    assert outliers(steady + [0.3]) == [False] * 7 + [True]
    assert outliers(steady + [None]) == [False] * 8
    assert not any(outliers(steady + [0.1]))  # within 3 x MIN_SPREAD of the median
    assert outliers([0.02, 0.6, None]) == [False, True, False]  # few pairs: only an absolute 0.5


def test_score_pair_reads_files_and_leaves_clouds_and_nodata_out(pairs, tmp_path):
    window, label, clear = pairs[0]
    paths = {}
    for name, array, kind in (("image", (window * 10000).astype(np.uint16), gdal.GDT_UInt16),
                              ("label", np.where(clear, label, 255)[None].astype(np.uint8), gdal.GDT_Byte),
                              ("mask", np.where(clear, 0, 1)[None].astype(np.uint8), gdal.GDT_Byte)):
        array = array if array.ndim == 3 else array[None]
        dataset = gdal.GetDriverByName("GTiff").Create(str(tmp_path / f"{name}.tif"), SIZE, SIZE, len(array), kind)
        for index, band in enumerate(array, start=1):
            dataset.GetRasterBand(index).WriteArray(band)
        if name == "label":
            dataset.GetRasterBand(1).SetNoDataValue(255)
        dataset = None
        paths[name] = str(tmp_path / f"{name}.tif")
    from_files = score_pair(paths["image"], paths["label"], paths["mask"])
    assert from_files.score == pytest.approx(change_score(window, label, clear).score, abs=0.01)
    assert 255 not in from_files.agreement and from_files.pixels == int(clear.sum())


def test_report_lists_the_outliers_and_shows_shifts():
    from datetime import datetime, timezone
    from labelmigration.core.migration.qa_page import render_page
    from labelmigration.core.migration.rows import match_row
    rows = [match_row(f"label{i}", status="done", image=f"images/label{i}.tif", label_raster=f"labels/label{i}.tif",
                      change_score=score, shift_x_m=12.5, shift_y_m=-5.0, shift_confidence=0.9,
                      label_moved_m=13.46 if i == 1 else 0)
            for i, score in enumerate([0.01, 0.02, 0.015, 0.03, 0.02, 0.35, 0.01])]
    thumbnails = [{"src": f"report/run-x/{i}.png", "width": 200, "height": 100} for i in range(len(rows))]
    page = render_page("Report", rows, rows, thumbnails, datetime(2026, 1, 1, tzinfo=timezone.utc))
    check = page[page.index('<h2 id="check">'):page.index('<h2 id="pairs">')]
    assert "Check these labels (1)" in check and "label5" in check and "label4" not in check
    assert "change 0.35 – check" in check
    assert page.count('<svg class="shift"') == len(rows) + 1  # every pair, and the flagged one again
    assert 'data-shift-x="12.5" data-shift-y="-5"' in page
    assert 'data-name="shift_m"' in page and 'data-name="change_score"' in page
    assert "Labels moved onto the Sentinel-2 pixels by their shift: label1 (13.5 m)" in page
