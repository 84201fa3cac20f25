"""exportdataset's core (core.dataset): chips, STAC catalogue, GeoParquet index and blocked splits of a
migrated folder whose pairs, cloud masks and matches.csv the test writes with GDAL.

Pairs (EPSG:32632, 10 m pixels, 40 x 40, chips of 16 pixels -> offsets 0, 16, 24 in each direction):
  east, west   side by side (west's right edge is east's left edge): chips across the edge touch
  far          10 km away; no cloud mask
  cloudy       its top-left 16 x 16 pixels are cloud, the next 16 x 16 to the right cloud shadow
  empty        its label is nodata but for a 4 x 4 corner: every chip is mostly nodata
"""
import csv
import json
import os
import struct

import numpy as np
import pytest
from osgeo import gdal, ogr, osr

from labelmigration.core.dataset import export as export_module
from labelmigration.core.dataset.export import ExportOptions, export_dataset
from labelmigration.core.migration.match_table import COLUMNS
from labelmigration.core.util.errors import Cancelled, LabelMigrationError, MissingDependency

SIZE, CHIP = 40, 16
SCORES = ("shift_x_m", "shift_y_m", "shift_confidence", "change_score")
PAIRS = {  # name: (upper-left x, upper-left y, cloud mask?)
    "west": (600000.0, 5000000.0, True), "east": (600400.0, 5000000.0, True),
    "far": (610000.0, 5000000.0, False), "cloudy": (620000.0, 5000000.0, True),
    "empty": (630000.0, 5000000.0, True),
}
# the STAC label extension's rules this export relies on (https://github.com/stac-extensions/label): the
# required item fields, their types, and the extension listed in stac_extensions
LABEL_SCHEMA_URI = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
LABEL_RULES = {
    "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
    "required": ["stac_extensions", "properties", "assets"],
    "properties": {
        "stac_extensions": {"type": "array", "contains": {"const": LABEL_SCHEMA_URI}},
        "properties": {
            "type": "object", "required": ["label:properties", "label:description", "label:type"],
            "properties": {
                "label:properties": {"oneOf": [{"type": "array", "minItems": 1, "items": {"type": "string"}},
                                               {"type": "null"}]},
                "label:description": {"type": "string", "minLength": 1},
                "label:type": {"enum": ["raster", "vector"]},
                "label:tasks": {"type": "array", "items": {"type": "string"}},
                "label:classes": {"type": "array", "items": {
                    "type": "object", "required": ["name", "classes"],
                    "properties": {"name": {"type": ["string", "null"]},
                                   "classes": {"type": "array", "items": {"type": "number"}}}}}}},
    },
}


def _srs_wkt():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    return srs.ExportToWkt()


def _write(path, array, x, y, nodata, descriptions=None, colours=None, categories=None):
    bands = array if array.ndim == 3 else array[np.newaxis]
    kind = gdal.GDT_UInt16 if bands.dtype == np.uint16 else gdal.GDT_Byte
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), bands.shape[2], bands.shape[1], bands.shape[0], kind)
    dataset.SetGeoTransform((x, 10.0, 0.0, y, 0.0, -10.0))
    dataset.SetProjection(_srs_wkt())
    if colours:  # before any pixel is written: GDAL 3.10 refuses to change a GeoTIFF's photometric tag after
        table = gdal.ColorTable()
        for value, colour in colours.items():
            table.SetColorEntry(value, colour)
        dataset.GetRasterBand(1).SetColorTable(table)
    for index in range(bands.shape[0]):
        band = dataset.GetRasterBand(index + 1)
        band.SetNoDataValue(nodata)
        band.WriteArray(bands[index])
        if descriptions:
            band.SetDescription(descriptions[index])
    if categories:  # a GeoTIFF keeps them in its .aux.xml (GDAL's PAM), as rasterizelabels' outputs do
        dataset.GetRasterBand(1).SetCategoryNames(categories)
    dataset = None


def make_migrated_folder(folder):
    rows = []
    rng = np.random.default_rng(7)
    for sub in ("images", "labels", "masks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for number, (name, (x, y, masked)) in enumerate(PAIRS.items()):
        image = rng.integers(1, 5000, size=(4, SIZE, SIZE)).astype(np.uint16)
        label = np.ones((SIZE, SIZE), dtype=np.uint8)
        label[:, SIZE // 2:] = 2
        if name == "empty":
            label[:] = 0
            label[:4, :4] = 1
        _write(folder / "images" / f"{name}.tif", image, x, y, 0, ["B02", "B03", "B04", "B08"])
        _write(folder / "labels" / f"{name}.tif", label, x, y, 0,
               colours={0: (0, 0, 0, 0), 1: (0, 128, 0, 255), 2: (0, 0, 255, 255)},
               categories=["background", "forest", "water"])
        if masked:
            mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
            if name == "cloudy":
                mask[:16, :16] = 1
                mask[:16, 16:32] = 2
            _write(folder / "masks" / f"{name}.tif", mask, x, y, 255)
        row = {column: "" for column in COLUMNS}
        row.update(label=name, scene=f"S2B_MSIL2A_2020081{number}T102559_N0509_R108_T32UPU_2020081{number}T130000",
                   datetime=f"2020-08-1{number}T10:25:59Z", offset_days=str(number - 2), footprint_cloud_pct="0",
                   status="done", image=f"images/{name}.tif", label_raster=f"labels/{name}.tif",
                   shift_x_m="1.5", shift_y_m="-0.5", shift_confidence="0.9", change_score=str(number / 10))
        rows.append(row)
    rows.append(dict({column: "" for column in COLUMNS}, label="failed_one", status="failed", reason="no scene"))
    with open(folder / "matches.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS + SCORES)
        writer.writeheader()
        writer.writerows({column: row.get(column, "") for column in COLUMNS + SCORES} for row in rows)
    return folder


OPTIONS = ExportOptions(chip_size=CHIP, overlap=0, block_size_m=200.0, max_cloud_pct=20.0, max_shadow_pct=20.0,
                        max_nodata_pct=50.0, seed=3)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    return make_migrated_folder(tmp_path_factory.mktemp("migrated"))


@pytest.fixture(scope="module")
def exported(migrated):
    output = migrated / "dataset"
    return output, export_dataset(str(migrated), str(output), OPTIONS)


def stac_validator():
    """Validation against STAC 1.1.0 (the schemas pystac ships) and LABEL_RULES, offline. pystac's own
    validator needs jsonschema >= 4.18; Debian 12's 4.10 runs the same schemas through a RefResolver, Debian 13's
    4.19 through a referencing registry."""
    from jsonschema import Draft7Validator, RefResolver
    from pystac.validation.local_validator import VERSION, get_local_schema_cache

    store = get_local_schema_cache()
    store[LABEL_SCHEMA_URI] = LABEL_RULES
    base = f"https://schemas.stacspec.org/v{VERSION}"
    try:  # jsonschema >= 4.18 (Debian 13) resolves references through referencing; 4.10 (Debian 12) has no registry
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7
        registry = Registry().with_resources(
            (uri, Resource.from_contents(schema, default_specification=DRAFT7)) for uri, schema in store.items())
    except ImportError:
        registry = None

    def validate(document):
        kind = {"Feature": "item", "Collection": "collection", "Catalog": "catalog"}[document["type"]]
        uris = [f"{base}/{kind}-spec/json-schema/{kind}.json"] + document.get("stac_extensions", [])
        for uri in uris:
            schema = store[uri]
            if registry is not None:
                Draft7Validator(schema, registry=registry).validate(document)
            else:
                Draft7Validator(schema, resolver=RefResolver(uri, schema, store=store)).validate(document)
        return uris
    return validate


def _items(catalog_path):
    import pystac
    catalog = pystac.Catalog.from_file(str(catalog_path))
    return list(catalog.get_items(recursive=True))


def test_catalogue_loads_and_validates_with_the_label_extension(exported):
    import pystac
    from pystac.extensions.label import LabelExtension, LabelType

    folder, result = exported
    items = _items(result.catalog)
    assert len(items) == result.chips > 0
    validate = stac_validator()
    for item in items:
        assert LABEL_SCHEMA_URI in validate(item.to_dict())
        assert LabelExtension.has_extension(item)
        label = LabelExtension.ext(item)
        assert label.label_type == LabelType.RASTER and label.label_properties is None
        assert set(label.label_classes[0].classes) <= {1, 2}
        assert {"image", "labels"} <= set(item.assets)
        assert "labels" in item.assets["labels"].roles
        props = item.properties
        assert props["labelmigration:source_label"] in PAIRS
        assert props["labelmigration:scene"].startswith("S2B_MSIL2A_")
        assert props["labelmigration:offset_days"] is not None
        assert props["labelmigration:shift_x_m"] == 1.5 and props["labelmigration:change_score"] is not None
        assert props["labelmigration:split"] in ("train", "validation", "test")
        assert os.path.isfile(item.assets["image"].get_absolute_href())
        if props["labelmigration:source_label"] == "far":  # no cloud mask: cloud unknown
            assert props["labelmigration:cloud_fraction"] is None and "cloud_mask" not in item.assets
        else:
            assert 0 <= props["labelmigration:cloud_fraction"] <= 0.2 and "cloud_mask" in item.assets
    collection = pystac.Collection.from_file(str(folder / "collection.json"))
    assert {c["value"]: c["color"] for c in collection.extra_fields["labelmigration:classes"]} == {
        1: "#008000", 2: "#0000ff"}  # the labels' colour table
    # the labels' category names (in their .aux.xml: GDAL 3.6 reads them only once the colour table was asked for)
    assert {c["value"]: c["name"] for c in collection.extra_fields["labelmigration:classes"]} == {
        1: "forest", 2: "water"}
    validate(collection.to_dict())
    validate(json.loads((folder / "catalog.json").read_text()))
    with pytest.raises(Exception, match="label:type"):
        broken = items[0].to_dict()
        del broken["properties"]["label:type"]
        validate(broken)
    assert any("no cloud mask" in warning for warning in result.warnings)


def _touch(a, b):
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def test_chips_of_different_splits_never_touch(exported, migrated, tmp_path):
    _, result = exported
    items = _items(result.catalog)
    boxes = [(item.properties["labelmigration:split"], item.properties["labelmigration:bounds"]) for item in items]
    assert {split for split, _ in boxes} == {"train", "validation", "test"}
    for index, (split, box) in enumerate(boxes):
        for other_split, other in boxes[index + 1:]:
            assert split == other_split or not _touch(box, other), (box, other)
    assert result.dropped["split_border"] > 0  # west/east and the blocks inside them do meet
    assert sum(result.splits.values()) == result.chips
    again = export_dataset(str(migrated), str(tmp_path / "again"), OPTIONS)  # seeded: the same splits
    assert sorted((i.id, i.properties["labelmigration:split"]) for i in _items(again.catalog)) == \
        sorted((i.id, i.properties["labelmigration:split"]) for i in items)


def test_chips_equal_the_pair_pixels_and_are_cogs(exported, migrated):
    _, result = exported
    for item in _items(result.catalog):
        xoff, yoff, width, height = item.properties["labelmigration:pair_window"]
        name = item.properties["labelmigration:source_label"]
        for asset, pair in (("image", "images"), ("labels", "labels"), ("cloud_mask", "masks")):
            if asset not in item.assets:
                continue
            chip = gdal.Open(item.assets[asset].get_absolute_href())
            source = gdal.Open(str(migrated / pair / f"{name}.tif"))
            assert chip.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE") == "COG"
            expected = source.ReadAsArray(xoff, yoff, width, height)
            assert np.array_equal(chip.ReadAsArray(), expected)
            x0, dx, _, y0, _, dy = source.GetGeoTransform()
            assert chip.GetGeoTransform() == pytest.approx((x0 + xoff * dx, dx, 0, y0 + yoff * dy, 0, dy))
            assert chip.GetRasterBand(1).GetNoDataValue() == source.GetRasterBand(1).GetNoDataValue()
        image = gdal.Open(item.assets["image"].get_absolute_href())
        assert [image.GetRasterBand(b).GetDescription() for b in (1, 2, 3, 4)] == ["B02", "B03", "B04", "B08"]


class ChipReader:
    """A minimal training-side reader: the GeoParquet index's rows of one split, as (image, label) tensors."""

    def __init__(self, index_path, split):
        import pyarrow.parquet as pq
        self.folder = os.path.dirname(index_path)
        table = pq.read_table(index_path, columns=["id", "split", "image", "label"])
        self.rows = [row for row in table.to_pylist() if row["split"] == split]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        row = self.rows[index]
        image = gdal.Open(os.path.join(self.folder, row["image"]))
        label = gdal.Open(os.path.join(self.folder, row["label"]))
        assert image.GetGeoTransform() == label.GetGeoTransform()  # aligned
        arrays = image.ReadAsArray().astype(np.float32), label.ReadAsArray().astype(np.int64)
        try:
            import torch
        except ImportError:
            return arrays
        return tuple(torch.from_numpy(array) for array in arrays)


def test_geoparquet_index_follows_the_spec_and_feeds_a_reader(exported):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow: requirements-plugin.txt (make setup installs it)")
    folder, result = exported
    assert result.index == str(folder / "chips.parquet")
    table = pq.read_table(result.index)
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["Polygon"]
    assert "crs" not in column  # OGC:CRS84
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    assert str(table.schema.field("geometry").type) == "binary"
    rows = table.to_pylist()
    assert len(rows) == result.chips
    for row in rows:
        polygon = ogr.CreateGeometryFromWkb(row["geometry"])
        assert polygon.GetGeometryName() == "POLYGON" and polygon.IsValid()
        minx, maxx, miny, maxy = polygon.GetEnvelope()
        assert (minx, miny, maxx, maxy) == pytest.approx(tuple(row["bbox"].values()))
        assert 8.9 < minx < 11 and 45.0 < miny < 45.2  # EPSG:32632 at 600 km E, 5000 km N: lon/lat order
        assert row["source_label"] in PAIRS and row["shift_confidence"] == 0.9
        assert struct.unpack("<B", row["geometry"][:1]) == (1,)
    total = 0
    for split in ("train", "validation", "test"):
        reader = ChipReader(result.index, split)
        assert len(reader) == result.splits[split]
        total += len(reader)
        image, label = reader[0]
        assert tuple(image.shape) == (4, CHIP, CHIP) and tuple(label.shape) == (CHIP, CHIP)
    assert total == result.chips


def test_thresholds_drop_chips(migrated, tmp_path):
    strict = export_dataset(str(migrated), str(tmp_path / "strict"), OPTIONS)
    # cloudy: its first chip is cloud, its second shadow (16 x 16 of 16 x 16); empty: every chip is nodata
    assert strict.dropped["cloud"] == 1 and strict.dropped["shadow"] >= 1 and strict.dropped["nodata"] == 9
    lenient = ExportOptions(**dict(OPTIONS.__dict__, max_cloud_pct=100.0, max_shadow_pct=100.0,
                                   max_nodata_pct=100.0))
    loose = export_dataset(str(migrated), str(tmp_path / "loose"), lenient)
    assert loose.dropped["cloud"] == loose.dropped["shadow"] == 0
    # a chip without any data is dropped at every threshold: empty's 8 chips beyond its 4 x 4 labelled corner
    assert loose.dropped["nodata"] == 8 and loose.pairs == strict.pairs == len(PAIRS)
    assert loose.chips + loose.dropped["split_border"] == 9 * len(PAIRS) - 8


def test_cancel_or_failure_leaves_nothing_and_an_earlier_export_stays(migrated, tmp_path):
    target = tmp_path / "dataset"
    with pytest.raises(Cancelled):
        export_dataset(str(migrated), str(target), OPTIONS, progress=lambda f: None,
                       is_cancelled=_cancel_after(40))
    assert os.listdir(tmp_path) == []
    first = export_dataset(str(migrated), str(target), OPTIONS)
    before = sorted(os.listdir(target))
    with pytest.raises(Cancelled):
        export_dataset(str(migrated), str(target), OPTIONS, is_cancelled=_cancel_after(60))
    assert sorted(os.listdir(target)) == before and os.listdir(tmp_path) == ["dataset"]
    again = export_dataset(str(migrated), str(target), ExportOptions(**dict(OPTIONS.__dict__, seed=11)))
    assert again.chips > 0 and first.catalog == again.catalog
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(LabelMigrationError, match="not empty"):
        export_dataset(str(migrated), str(foreign), OPTIONS)
    with pytest.raises(LabelMigrationError, match="would replace the migrated folder"):
        export_dataset(str(migrated), str(migrated), OPTIONS)


def _cancel_after(calls):
    count = [0]

    def cancelled():
        count[0] += 1
        return count[0] > calls
    return cancelled


def test_without_pyarrow_the_rest_is_written_and_the_message_says_what_to_install(migrated, tmp_path, monkeypatch):
    def missing():
        raise MissingDependency("Writing the GeoParquet index needs the Python package 'pyarrow' ... "
                                "python -m pip install \"pyarrow==25.0.1\"")
    monkeypatch.setattr(export_module, "require_pyarrow", missing)
    result = export_dataset(str(migrated), str(tmp_path / "out"), OPTIONS)
    assert result.index is None and not (tmp_path / "out" / "chips.parquet").exists()
    assert any("pyarrow" in warning and "pip install" in warning for warning in result.warnings)
    assert os.path.isfile(result.catalog) and result.chips > 0


def test_the_missing_pyarrow_message_names_the_pin():
    from labelmigration.core.install.dependencies import pinned_requirement
    assert pinned_requirement("pyarrow").startswith("pyarrow==")


def test_bad_options_are_refused_before_anything_is_written(migrated, tmp_path):
    for changes in ({"overlap": CHIP}, {"chip_size": 0}, {"block_size_m": 0}, {"fractions": (0, 0, 0)},
                    {"max_cloud_pct": 120}):
        with pytest.raises(LabelMigrationError):
            export_dataset(str(migrated), str(tmp_path / "x"), ExportOptions(**dict(OPTIONS.__dict__, **changes)))
    assert os.listdir(tmp_path) == []
    with pytest.raises(LabelMigrationError, match="no matches.csv"):
        export_dataset(str(tmp_path), str(tmp_path / "x"))
