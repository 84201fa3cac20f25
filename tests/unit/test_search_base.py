"""Search windows, coverage, ranking and the match table, with a fake backend."""
import csv
import datetime as dt

import pytest

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.search.base import FootprintQuery, SearchWindow
from labelmigration.core.search.geometry import coverage_pct, geometry_from_wkt
from labelmigration.core.search.matching import search_scenes
from labelmigration.core.search.results import write_matches_csv
from labelmigration.core.search.scene import CSV_COLUMNS, Scene
from labelmigration.core.search.timestamps import parse_datetime

UTC = dt.timezone.utc
LABEL = "POLYGON((10 50,10.1 50,10.1 50.1,10 50.1,10 50))"


def box(x0, y0, x1, y1):
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def scene(scene_id, day, cloud, footprint, product_type="S2MSI2A"):
    return Scene(id=scene_id, title=f"S2A_MSIL2A_{scene_id}", backend="fake",
                 datetime=dt.datetime(2020, 8, day, 10, 30, tzinfo=UTC), cloud_cover=cloud, tile="32UPU",
                 product_type=product_type, footprint_wkt=footprint)


class FakeBackend:
    name, url = "fake", "memory"

    def __init__(self, scenes):
        self.scenes, self.calls = scenes, []

    def search(self, geometry_wkt, start, end, max_cloud, product, collection, progress, is_cancelled):
        self.calls.append((geometry_wkt, start, end, max_cloud, product, collection))
        return list(self.scenes)


def test_window_around_a_date_covers_whole_days():
    window = SearchWindow.around(dt.date(2020, 8, 15), 10, 5)
    assert window.start == dt.datetime(2020, 8, 5, tzinfo=UTC)
    assert window.end.date() == dt.date(2020, 8, 20) and window.end.hour == 23


def test_window_that_starts_after_it_ends_is_refused():
    with pytest.raises(LabelMigrationError, match="starts .* after it ends"):
        SearchWindow.around(dt.date(2020, 8, 15), -12, 5)
    with pytest.raises(LabelMigrationError, match="after it ends"):
        SearchWindow(dt.datetime(2020, 9, 1), dt.datetime(2020, 8, 1))


def test_parse_datetime_variants():
    expected = dt.datetime(2020, 8, 8, 1, 3, 11, 24000, tzinfo=UTC)
    assert parse_datetime("2020-08-08T01:03:11.024000Z") == expected
    assert parse_datetime("2020-08-08T01:03:11.024Z") == expected
    assert parse_datetime("2020-08-08T03:03:11.024+02:00") == expected


def test_coverage_is_the_share_of_the_label_on_the_ground():
    label = geometry_from_wkt(LABEL, "test")
    assert coverage_pct(label, box(9, 49, 11, 51)) == pytest.approx(100.0)
    half = coverage_pct(label, box(10.05, 49, 11, 51))
    assert half == pytest.approx(50.0, abs=0.2)
    assert coverage_pct(label, box(20, 20, 21, 21)) == 0.0
    assert coverage_pct(label, None) is None


def test_ranking_by_coverage_then_cloud_then_offset():
    full = box(9, 49, 11, 51)
    scenes = [
        scene("partial_clear", 15, 0.0, box(10.05, 49, 11, 51)),
        scene("full_cloudy_near", 15, 2.5, full),
        scene("full_clear_far", 22, 1.0, full),
        scene("full_clear_near", 13, 1.0, full),
        scene("elsewhere", 15, 0.0, box(20, 20, 21, 21)),
        scene("too_cloudy", 15, 40.0, full),
        scene("out_of_window", 28, 0.0, full),
        scene("wrong_level", 15, 0.0, full, "S2MSI1C"),
    ]
    backend = FakeBackend(scenes)
    matches = search_scenes([FootprintQuery("a", LABEL, dt.date(2020, 8, 15))], backend, 10, 10, 3.0, "L2A")
    assert [m.scene.id for m in matches] == ["full_clear_near", "full_clear_far", "full_cloudy_near", "partial_clear"]
    assert [m.rank for m in matches] == [1, 2, 3, 4]
    assert [m.offset_days for m in matches] == [-2.0, 7.0, 0.0, 0.0]
    assert backend.calls[0][3:5] == (3.0, "L2A")


def test_each_label_is_ranked_on_its_own():
    far = "POLYGON((30 10,30.1 10,30.1 10.1,30 10.1,30 10))"
    backend = FakeBackend([scene("s1", 15, 0.0, box(9, 49, 31, 51)), scene("s2", 16, 1.0, box(29, 9, 31, 11))])
    matches = search_scenes([FootprintQuery("a", LABEL, dt.date(2020, 8, 15)),
                             FootprintQuery("b", far, dt.date(2020, 8, 15))], backend)
    assert [(m.label, m.scene.id, m.rank) for m in matches] == [("a", "s1", 1), ("b", "s2", 1)]


def test_self_intersecting_footprint_is_repaired_with_a_warning():
    bowtie = "POLYGON((10 50,10.1 50.1,10.1 50,10 50.1,10 50))"
    warnings = []
    backend = FakeBackend([scene("s", 15, 0.0, box(9, 49, 11, 51))])
    matches = search_scenes([FootprintQuery("bow", bowtie, dt.date(2020, 8, 15))], backend, warn=warnings.append)
    assert len(matches) == 1 and matches[0].coverage_pct == pytest.approx(100.0)
    assert warnings and "bow" in warnings[0] and "repaired" in warnings[0]


def test_no_footprints_and_missing_date_are_clear_errors():
    with pytest.raises(LabelMigrationError, match="no features"):
        search_scenes([], FakeBackend([]))
    with pytest.raises(LabelMigrationError, match="label 'x' has no date"):
        search_scenes([FootprintQuery("x", LABEL, None)], FakeBackend([]))
    with pytest.raises(LabelMigrationError, match="L1C or L2A"):
        search_scenes([FootprintQuery("x", LABEL, dt.date(2020, 1, 1))], FakeBackend([]), product="L3")


def test_match_table_csv(tmp_path):
    backend = FakeBackend([scene("s1", 15, 0.5, box(9, 49, 11, 51)), scene("s2", 17, 0.1, box(9, 49, 11, 51))])
    matches = search_scenes([FootprintQuery("a", LABEL, dt.date(2020, 8, 15))], backend)
    path = tmp_path / "matches.csv"
    write_matches_csv(str(path), matches)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["label"], r["id"], r["rank"], r["offset_days"]) for r in rows] == [("a", "s2", "1", "2.0"),
                                                                                  ("a", "s1", "2", "0.0")]
    assert rows[0]["label_date"] == "2020-08-15" and rows[0]["datetime"] == "2020-08-17T10:30:00Z"
    assert [p.name for p in tmp_path.iterdir()] == ["matches.csv"]


def test_progress_and_cancel():
    from labelmigration.core.util.errors import Cancelled

    reported = []
    backend = FakeBackend([scene("s", 15, 0.0, box(9, 49, 11, 51))])
    queries = [FootprintQuery(name, LABEL, dt.date(2020, 8, 15)) for name in "ab"]
    search_scenes(queries, backend, progress=reported.append)
    assert reported[-1] == 1.0 and reported == sorted(reported)
    with pytest.raises(Cancelled):
        search_scenes(queries, backend, is_cancelled=lambda: True)


def test_scene_at_rank_picks_the_ranked_scene_of_the_named_label():
    from labelmigration.core.search.results import scene_at_rank

    rows = [{"label": "a", "rank": 1, "title": "A1", "url": "/archive/A1.SAFE.zip"},
            {"label": "a", "rank": 2, "title": "A2", "url": "https://cog.example/A2/B04.tif"},
            {"label": "b", "rank": 1, "title": "B1", "url": "/archive/B1.SAFE"},
            {"label": "b", "rank": 2, "title": "B2", "url": "https://odata.example/Products(7)/$value"}]
    assert scene_at_rank(rows[:2]) == "/archive/A1.SAFE.zip"  # one label: its name does not matter
    assert scene_at_rank(rows[:2], 2, "anything") == "/vsicurl/https://cog.example/A2/B04.tif"
    assert scene_at_rank(rows, 1, "b") == "/archive/B1.SAFE"
    with pytest.raises(LabelMigrationError, match=r"2 labels \(a, b\) and none is named 'c'"):
        scene_at_rank(rows, 1, "c")
    with pytest.raises(LabelMigrationError, match=r"'B2' of rank 2 is a download link .*downloadscenes"):
        scene_at_rank(rows, 2, "b")
    with pytest.raises(LabelMigrationError, match=r"no scene of rank 3 \(its ranks are 1 to 2\)"):
        scene_at_rank(rows, 3, "a")
    with pytest.raises(LabelMigrationError, match="has no product path"):
        scene_at_rank([{"label": "a", "rank": 1, "title": "A1", "url": None}])


@pytest.mark.parametrize("before, after, side", [(1e9, 10, "before"), (10, 3651, "after"), (-1, 10, "before"),
                                                 (float("nan"), 10, "before")])
def test_window_beyond_ten_years_is_refused(before, after, side):
    """Issue 13: DAYS_BEFORE=1e9 ended searchscenes in an OverflowError traceback."""
    backend = FakeBackend([])
    with pytest.raises(LabelMigrationError, match=f"0 to 3650 days {side} the label date .DAYS_{side.upper()}."):
        search_scenes([FootprintQuery("x", LABEL, dt.date(2020, 1, 1))], backend, days_before=before, days_after=after)
    assert backend.calls == []
    search_scenes([FootprintQuery("x", LABEL, dt.date(2020, 1, 1))], backend, days_before=3650, days_after=3650)
