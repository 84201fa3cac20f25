"""The local archive backend on real SAFE products and a static STAC catalog written in the test."""
import datetime as dt
import json
import re

import pytest
from osgeo import ogr, osr

from labelmigration.core.util.errors import LabelMigrationError
from labelmigration.core.search.base import FootprintQuery
from labelmigration.core.search.matching import search_scenes
from labelmigration.core.search.local import LocalArchiveBackend
from labelmigration.tests.support.safe_products import make_safe_product

SIZE = 546  # 5460 m tiles
ULX, ULY = 699960.0, 5400000.0
UTC = dt.timezone.utc
LABEL_DATE = dt.date(2020, 8, 15)


def utm_box_wkt(x0, y0, x1, y1, epsg=32632):
    """A lon/lat WKT polygon of a UTM rectangle."""
    source, target = osr.SpatialReference(), osr.SpatialReference()
    source.ImportFromEPSG(epsg)
    target.ImportFromEPSG(4326)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    polygon = ogr.CreateGeometryFromWkt(f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
    polygon.Transform(osr.CoordinateTransformation(source, target))
    return polygon.ExportToIsoWkt()


# x 701960..703420 (1460 m), well inside the tile at ULX; product "half" starts at x = 702690
LABEL_WKT = utm_box_wkt(ULX + 2000, ULY - 3000, ULX + 3460, ULY - 2000)


def when(day, hour=10, month=8):
    return dt.datetime(2020, month, day, hour, 25, 59)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    made = {
        "near_cloudy": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=when(13), cloud_cover=1.0),
        "zipped_clear": make_safe_product(folder / "sub", "L2A", size_10m=SIZE, sensing=when(18), cloud_cover=0.5,
                                          zipped=True),
        "too_cloudy": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=when(15), cloud_cover=12.5),
        "l1c": make_safe_product(folder, "L1C", size_10m=SIZE, sensing=when(15, 11), cloud_cover=0.0),
        "late": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=when(20, 10, 9), cloud_cover=0.0),
        "elsewhere": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=when(15, 12), cloud_cover=0.0,
                                       tile="33UUP", epsg=32633, ulx=300000.0),
        "half": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=when(15, 13), cloud_cover=0.0,
                                  tile="32UPV", ulx=ULX + 2730),
    }
    (folder / "notes.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: not a product
    (folder / "broken.json").write_text("{not json")
    return folder, made


def names(matches):
    return [m.scene.id for m in matches]


def test_archive_returns_exactly_the_expected_products_ranked(archive):
    folder, made = archive
    backend = LocalArchiveBackend(str(folder))
    matches = search_scenes([FootprintQuery("lab", LABEL_WKT, LABEL_DATE)], backend, 10, 10, 3.0, "L2A")
    assert names(matches) == [made[k].name for k in ("zipped_clear", "near_cloudy", "half")]
    clear, cloudy, half = matches
    assert clear.coverage_pct == pytest.approx(100.0) and clear.offset_days == 3.0
    assert clear.scene.cloud_cover == 0.5 and clear.scene.tile == "32UPU"
    assert clear.scene.product_type == "S2MSI2A" and clear.scene.url == str(made["zipped_clear"].path)
    assert clear.scene.datetime == dt.datetime(2020, 8, 18, 10, 25, 59, 24000, tzinfo=UTC)
    assert cloudy.offset_days == -2.0 and cloudy.scene.cloud_cover == 1.0
    assert half.coverage_pct == pytest.approx(50.0, abs=0.5)
    assert any("broken.json" in reason for reason in backend.skipped)


def test_level_and_cloud_filters(archive):
    folder, made = archive
    backend = LocalArchiveBackend(str(folder))
    l1c = search_scenes([FootprintQuery("lab", LABEL_WKT, LABEL_DATE)], backend, 10, 10, 3.0, "L1C")
    assert names(l1c) == [made["l1c"].name]
    cloudy = search_scenes([FootprintQuery("lab", LABEL_WKT, LABEL_DATE)], backend, 0, 0, 50.0, "L2A")
    assert names(cloudy) == [made["too_cloudy"].name, made["half"].name]  # coverage first
    wide = search_scenes([FootprintQuery("lab", LABEL_WKT, LABEL_DATE)], backend, 10, 40, None, None)
    assert set(names(wide)) == {p.name for k, p in made.items() if k != "elsewhere"}


def test_footprint_of_a_product_without_mtd_footprint_comes_from_the_tile_grid(archive):
    from labelmigration.core.sentinel2.safe import open_safe
    from labelmigration.core.search.local import tile_footprint

    product = open_safe(str(archive[1]["near_cloudy"].path))
    footprint = ogr.CreateGeometryFromWkt(tile_footprint(product))
    expected = ogr.CreateGeometryFromWkt(utm_box_wkt(ULX, ULY - SIZE * 10, ULX + SIZE * 10, ULY))
    # the grid's straight UTM edges bend slightly in lon/lat; the densified footprint follows them
    assert footprint.SymDifference(expected).GetArea() < 1e-3 * expected.GetArea()


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(LabelMigrationError, match="does not exist"):
        LocalArchiveBackend(str(tmp_path / "nope")).search(LABEL_WKT, when(1), when(30), None, None)


def test_static_stac_catalog_on_disk(catalogue_dir, tmp_path):
    source = catalogue_dir / "stac" / "earth-search-sentinel-2-l2a-items.json"
    if not source.exists():
        pytest.skip(f"{source} is missing")
    features = json.loads(source.read_text())["features"]
    outside = tmp_path / "elsewhere"  # linked from the catalog but outside the archive folder
    archive = tmp_path / "archive"
    (archive / "items").mkdir(parents=True)
    outside.mkdir()
    links = []
    for index, item in enumerate(features):
        item = dict(item, links=[])
        item["assets"] = dict(item["assets"], red={"href": "./B04.tif"})
        target = (outside if index == 0 else archive / "items") / f"{item['id']}.json"
        target.write_text(json.dumps(item))
        links.append({"rel": "item", "href": f"../elsewhere/{target.name}" if index == 0 else f"./items/{target.name}"})
    (archive / "catalog.json").write_text(json.dumps(
        {"type": "Catalog", "id": "test", "stac_version": "1.0.0", "description": "t", "links": links}))

    backend = LocalArchiveBackend(str(archive))
    assert sorted(s.id for s in backend.index()) == sorted(f["id"] for f in features)
    item = features[0]
    properties = item["properties"]
    moment = dt.datetime.fromisoformat(properties["datetime"].replace("Z", "+00:00"))
    area = ogr.CreateGeometryFromJson(json.dumps(item["geometry"])).Centroid().Buffer(0.001).ExportToWkt()
    found = backend.search(area, moment - dt.timedelta(hours=1), moment + dt.timedelta(hours=1), None, "L2A")
    assert [s.id for s in found] == [item["id"]]
    scene = found[0]
    assert scene.cloud_cover == properties["eo:cloud_cover"]
    assert scene.tile == properties["grid:code"].split("-")[1]
    assert scene.product_type == properties["s2:product_type"]
    assert scene.quicklook == item["assets"]["thumbnail"]["href"]
    assert scene.assets["red"] == str(outside / "B04.tif")


# -- hostile archives (issue 13: "quantification abc ... aborts the local-archive search and fails every
#    label"; the same for any product or STAC file the scan cannot read) --------------------------------------

def _damaged(folder, sensing, change):
    product = make_safe_product(folder, "L2A", size_10m=SIZE, sensing=sensing, cloud_cover=0.0)
    metadata = product.path / "MTD_MSIL2A.xml"
    text = metadata.read_text()
    metadata.write_text(change(text))
    assert metadata.read_text() != text
    return product


def test_products_the_scan_cannot_read_are_left_out_with_their_reason(tmp_path):
    good = make_safe_product(tmp_path, "L2A", size_10m=SIZE, sensing=when(15), cloud_cover=0.0)
    damaged = {
        "quantification": _damaged(tmp_path, when(16), lambda text: re.sub(
            r"(<BOA_QUANTIFICATION_VALUE[^>]*>)[^<]*", r"\1abc", text)),
        "cloud cover": _damaged(tmp_path, when(17), lambda text: re.sub(
            r"(<Cloud_Coverage_Assessment>)[^<]*", r"\1lots", text)),
        "not xml": _damaged(tmp_path, when(18), lambda text: text[:len(text) // 2]),
    }
    (tmp_path / "truncated.zip").write_bytes(good.path.name.encode() + b"PK\x03\x04 truncated")
    backend = LocalArchiveBackend(str(tmp_path))
    warnings = []
    matches = search_scenes([FootprintQuery("lab", LABEL_WKT, LABEL_DATE)], backend, 10, 10, None, "L2A",
                            warn=warnings.append)
    assert names(matches) == [good.name]
    for product in damaged.values():
        assert [reason for reason in backend.skipped if reason.startswith(f"{product.path}: ")], backend.skipped
    assert len(backend.skipped) == len(damaged)  # the truncated zip is no product at all: not a warning
    # searchscenes shows them too (its warn is the algorithm's log)
    assert warnings == [f"The local archive has a product that cannot be read, left out: {entry}"
                        for entry in backend.skipped]


def test_a_hostile_static_catalog_is_read_once_and_bounded(tmp_path):
    archive, outside = tmp_path / "archive", tmp_path / "outside"
    archive.mkdir()
    outside.mkdir()
    # a child catalog outside the archive that links to itself 50 times, and links that are no links
    (outside / "loop.json").write_text(json.dumps({"type": "Catalog", "links": [
        {"rel": "child", "href": "./loop.json"}] * 50 + [1, "x", {"rel": "item", "href": 7}, {"rel": "item"}]}))
    (outside / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (archive / "catalog.json").write_text(json.dumps({"type": "Catalog", "links": [
        {"rel": "child", "href": "../outside/loop.json"}, {"rel": "item", "href": "../outside/deep.json"}]}))
    (archive / "features.json").write_text(json.dumps({"type": "FeatureCollection", "features": {"a": 1}}))
    backend = LocalArchiveBackend(str(archive))
    assert backend.index() == []
    assert any("deep.json: cannot read it as JSON" in reason for reason in backend.skipped), backend.skipped


def test_a_huge_stac_file_is_not_read(tmp_path):
    from labelmigration.core.util import limits

    (tmp_path / "item.json").write_text(json.dumps({"type": "Feature", "stac_version": "1.0.0",
                                                    "padding": "x" * 20_000}))
    backend = LocalArchiveBackend(str(tmp_path))
    with limits.using(limits.with_values(max_metadata_mb=0.01)):
        assert backend.index() == []
    assert "more than the limit" in backend.skipped[0]
