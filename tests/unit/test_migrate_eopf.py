"""migrate_labels on a local archive of EOPF Zarr products gives what it gives on the SAFE products of the same
scenes: same chosen scene, same cloud over each footprint (from SCL), same pair pixels and grid. The expected
answer is the SAFE run (tests/unit/test_migrate.py checks that one against the generator's known SCL blocks);
tests/support/eopf_products.py writes the Zarr form of each SAFE with the same pixels."""
import csv
import datetime as dt

import numpy as np
import pytest
import rasterio

from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.run import migrate_labels
from labelmigration.tests.support.eopf_products import make_eopf_pair
from labelmigration.tests.unit.test_migrate import SIZE, write_label


def _rows(folder):
    with open(folder / "matches.csv", newline="", encoding="utf-8") as handle:
        return {row["label"]: row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_archive_migrates_as_the_safe_archive(tmp_path, zarr_format):
    for name, sensing, cloud, seed in (("near", dt.datetime(2020, 8, 13, 10, 25, 59), 1.0, 4),
                                       ("far", dt.datetime(2020, 8, 18, 10, 25, 59), 20.0, 0)):
        make_eopf_pair(tmp_path / name, zarr_format, level="L2A", size_10m=SIZE, sensing=sensing,
                       cloud_cover=cloud, seed=seed)
    labels = tmp_path / "labels"
    labels.mkdir()
    write_label(labels / "cloudy_20200815.tif", (10, 8))  # cloudy in "near", clear in "far"
    write_label(labels / "late_20200817.tif", (12, 6))
    runs = {}
    for form in ("safe", "zarr"):
        archive = tmp_path / f"archive-{form}"
        archive.mkdir()
        for name in ("near", "far"):
            for product in (tmp_path / name / form).iterdir():
                product.rename(archive / product.name)
        out = tmp_path / f"out-{form}"
        migrate_labels(str(labels), MigrationOptions(backend="local", url=str(archive), days_before=5, days_after=5,
                                                     max_cloud=30.0, product="L2A", workers=1), str(out))
        runs[form] = (out, _rows(out))
    (safe_out, safe_rows), (zarr_out, zarr_rows) = runs["safe"], runs["zarr"]
    assert set(safe_rows) == set(zarr_rows) == {"cloudy_20200815", "late_20200817"}
    for label, safe in safe_rows.items():
        zarr = zarr_rows[label]
        assert safe["status"] == zarr["status"] == "done", (safe, zarr)
        for column in ("datetime", "footprint_cloud_pct", "footprint_shadow_pct", "offset_days", "nodata_pct"):
            assert safe[column] == zarr[column], (label, column)
        with rasterio.open(safe_out / safe["image"]) as a, rasterio.open(zarr_out / zarr["image"]) as b:
            assert (a.transform, a.crs, a.shape, a.count) == (b.transform, b.crs, b.shape, b.count)
            assert np.array_equal(a.read(), b.read())
    assert float(safe_rows["cloudy_20200815"]["footprint_cloud_pct"]) == 0.0  # "far" chosen, as for SAFEs
