"""migrate_labels with a download backend (CDSE OData, DHuS): the SAFE product is downloaded into
OUTPUT_FOLDER/downloads/<title>.zip and cropped to the label exactly as a local archive is.

What is real: the HTTP servers (tests/support/replay_server.py answers the catalogue searches,
tests/support/fault_server.py serves the product zips with byte ranges, faults, an OAuth /token
endpoint and Bearer-protected files), the SAFE products (real small L2A zips written by
tests/support/safe_products.py), GDAL reading and cropping them, sentinelsat talking to the "hub".
Nothing is mocked: the catalogue answers are built here from the generated zips (footprint, dates,
Id/uuid, Name/title, size and MD5 match the bytes that are served).

The generator's SCL holds one class per block of 7 x 5 pixels of 20 m (see tests/unit/test_migrate.py):
a label inside block (10, 8) is all cloud (class 9) in the seed-4 product "near" and clear (class 5)
in the seed-0 product "far"; block (10, 5) is clear in both.
"""
import base64
import csv
import datetime as dt
import hashlib

import numpy as np
import pytest
import rasterio

from labelmigration.core.labels.crop import crop_scene
from labelmigration.core.migration.options import DEFAULT_BANDS, MigrationOptions
from labelmigration.core.migration.pair import verify_pair
from labelmigration.core.migration.run import migrate_labels
from labelmigration.tests.support.catalogue_answers import Served, dhus_entry, odata_product
from labelmigration.tests.support.fault_server import Fault, fault_server
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.replay_server import replay_server
from labelmigration.tests.support.safe_products import make_safe_product

SIZE = 180  # 1800 m tiles
ULX, ULY = 699960.0, 5400000.0
EPSG = 32632
SCL_BLOCK_W, SCL_BLOCK_H = 140.0, 100.0  # 7 x 5 pixels of 20 m
USER, PASSWORD = "alice", "s3cret-pw"
CLOUDY_BLOCK, CLEAR_BLOCK = (10, 8), (10, 5)


# -- products, labels and catalogue answers --------------------------------------------------------

@pytest.fixture(scope="module")
def products(tmp_path_factory):
    folder = tmp_path_factory.mktemp("products")
    made = {
        # the lower scene cloud cover and the smaller offset, but cloudy over CLOUDY_BLOCK
        "near": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 13, 10, 25, 59),
                                  cloud_cover=1.0, seed=4, zipped=True),
        "far": make_safe_product(folder, "L2A", size_10m=SIZE, sensing=dt.datetime(2020, 8, 18, 10, 25, 59),
                                 cloud_cover=20.0, seed=0, zipped=True),
    }
    return {key: Served(product) for key, product in made.items()}


def write_label(path, block):
    """A 12 x 8 label of 10 m pixels (classes 1 and 2) inside one SCL block."""
    x0, y0 = ULX + block[1] * SCL_BLOCK_W, ULY - block[0] * SCL_BLOCK_H
    array = np.ones((8, 12), dtype=np.uint8)
    array[:, 6:] = 2
    return write_raster(path, array, crs=f"EPSG:{EPSG}", transform=from_origin(x0 + 10, y0 - 10, 10, 10))


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labels")
    return {"cloudy": write_label(folder / "cloudy_20200815.tif", CLOUDY_BLOCK),
            "clear": write_label(folder / "clear_20200815.tif", CLEAR_BLOCK)}


def dhus_feed(entries):
    return {"feed": {"opensearch:totalResults": str(len(entries)), "opensearch:startIndex": "0",
                     "opensearch:itemsPerPage": "100", "entry": entries}}


# -- servers and runs -------------------------------------------------------------------------------

class OData:
    """A CDSE stand-in: the catalogue on a replay server, downloads and /token on a fault server."""

    def __init__(self, catalogue, files):
        self.catalogue, self.files = catalogue, files

    def publish(self, *entries):
        self.catalogue.add_json("/odata/v1/Products", {"value": list(entries)})

    def serve(self, served, data=None):
        self.files.add_file(served.odata_path, served.data if data is None else data, protected=True)

    def options(self, **changes):
        values = dict(backend="cdse-odata", url=self.catalogue.url + "/odata/v1",
                      download_url=self.files.url + "/odata/v1", token_url=self.files.url + "/token",
                      credentials=(USER, PASSWORD), days_before=5, days_after=5, max_cloud=30.0, product="L2A",
                      workers=2, write_report=False, cloud_masks=False)
        values.update(changes)
        return MigrationOptions(**values)

    def product_gets(self, *served):
        paths = {item.odata_path for item in served}
        return [r for r in self.files.log if r.method == "GET" and r.path in paths]


@pytest.fixture()
def odata():
    with replay_server() as catalogue, fault_server(user=USER, password=PASSWORD) as files:
        yield OData(catalogue, files)


def rows_by_label(result):
    return {row["label"]: row for row in result.rows}


def read_matches(folder):
    with open(folder / "matches.csv", newline="", encoding="utf-8") as handle:
        return {row["label"]: row for row in csv.DictReader(handle)}


def read(path):
    with rasterio.open(path) as dataset:
        return dataset.read(), dataset.transform, dataset.crs, dataset.descriptions


def assert_pair_is_the_product(folder, label_name, label_path, served, tmp_path):
    """The pair is on one grid and holds the product's pixels: compared with a crop of the original zip
    (never downloaded) and with the generator's own values for B02."""
    image, label = folder / "images" / f"{label_name}.tif", folder / "labels" / f"{label_name}.tif"
    assert verify_pair(str(image), str(label)) is None
    reference = tmp_path / f"reference-{label_name}"
    reference.mkdir()
    crop_scene(str(served.product.path), str(label_path), str(reference / "image.tif"), str(reference / "label.tif"),
               band_names=list(DEFAULT_BANDS))
    pixels, transform, crs, descriptions = read(image)
    expected, expected_transform, expected_crs, _ = read(reference / "image.tif")
    assert descriptions == DEFAULT_BANDS and pixels.shape == (4, 8, 12)
    assert transform == expected_transform and crs == expected_crs
    assert np.array_equal(pixels, expected)
    assert np.array_equal(read(label)[0], read(reference / "label.tif")[0])
    col, line = int(round((transform.c - ULX) / 10)), int(round((ULY - transform.f) / 10))
    assert np.array_equal(pixels[0], served.product.expected_dn("B02")[line:line + 8, col:col + 12])


# -- CDSE OData ------------------------------------------------------------------------------------

def test_odata_downloads_with_a_token_and_picks_the_scene_clear_over_the_label(odata, products, labels, tmp_path):
    near, far = products["near"], products["far"]
    odata.publish(odata_product(near), odata_product(far))
    odata.serve(near)
    odata.serve(far)
    out = tmp_path / "out"
    result = migrate_labels([str(labels["cloudy"]), str(labels["clear"])], odata.options(), str(out))
    rows = rows_by_label(result)
    cloudy, clear = rows["cloudy_20200815"], rows["clear_20200815"]
    # "near" has the lower scene cloud cover (1 %) and offset (-2 d), but all its pixels over the label are cloud
    assert (cloudy["status"], cloudy["scene"], cloudy["reason"]) == ("done", far.name, ""), cloudy
    assert (cloudy["footprint_cloud_pct"], cloudy["scene_cloud_pct"], cloudy["offset_days"]) == ("0", "20", "3")
    assert (clear["status"], clear["scene"], clear["offset_days"]) == ("done", near.name, "-2"), clear
    assert (result.pairs, result.failed) == (2, 0)
    assert read_matches(out) == rows and cloudy["image"] == "images/cloudy_20200815.tif"
    assert_pair_is_the_product(out, "cloudy_20200815", labels["cloudy"], far, tmp_path)
    assert_pair_is_the_product(out, "clear_20200815", labels["clear"], near, tmp_path)
    # both candidates were downloaded (rated by their SCL), whole and verified, under downloads/<title>.zip
    for served in (near, far):
        download = out / "downloads" / f"{served.name}.zip"
        assert download.stat().st_size == len(served.data) and download.read_bytes() == served.data
    assert sorted(p.name for p in (out / "downloads").iterdir()) == sorted(f"{s.name}.zip" for s in (near, far))
    # the product answers only with a valid Bearer token of the /token endpoint (client cdse-public)
    gets = odata.product_gets(near, far)
    assert gets and all(r.authorized and r.status == 200 for r in gets)
    assert odata.files.password_grants >= 1
    assert [r.path for r in odata.files.log if r.method == "POST"] == ["/token"] * odata.files.password_grants
    # each product travelled once although both labels rated both candidates
    assert sorted(r.path for r in gets) == sorted((near.odata_path, far.odata_path))


def test_cut_download_is_resumed_and_the_pair_is_still_right(odata, products, labels, tmp_path):
    far = products["far"]
    odata.publish(odata_product(far))
    odata.serve(far)
    odata.files.script(far.odata_path, Fault(cut_after=len(far.data) // 3))
    out = tmp_path / "out"
    result = migrate_labels([str(labels["cloudy"])], odata.options(), str(out))
    row = result.rows[0]
    assert (row["status"], row["scene"]) == ("done", far.name), row
    requests = [(r.range, r.status) for r in odata.product_gets(far)]
    assert requests == [(None, 200), (f"bytes={len(far.data) // 3}-", 206)]
    assert (out / "downloads" / f"{far.name}.zip").read_bytes() == far.data
    assert not (out / "downloads" / f"{far.name}.zip.part").exists()
    assert_pair_is_the_product(out, "cloudy_20200815", labels["cloudy"], far, tmp_path)


def test_checksum_mismatch_fails_the_label_and_leaves_nothing(odata, products, labels, tmp_path):
    far = products["far"]
    odata.publish(odata_product(far))
    damaged = bytearray(far.data)
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte: the size is right, the MD5 is not
    odata.serve(far, bytes(damaged))
    out = tmp_path / "out"
    result = migrate_labels([str(labels["cloudy"])], odata.options(), str(out))
    row = result.rows[0]
    assert row["status"] == "failed" and result.failed == 1
    assert "MD5 checksum" in row["reason"] and far.md5 in row["reason"] and far.name in row["reason"], row
    assert hashlib.md5(bytes(damaged)).hexdigest() in row["reason"]
    assert row["image"] == row["label_raster"] == ""
    assert not (out / "images" / "cloudy_20200815.tif").exists()
    assert not (out / "labels" / "cloudy_20200815.tif").exists()
    assert list((out / "downloads").iterdir()) == []  # neither the damaged zip nor its .part file
    assert read_matches(out)["cloudy_20200815"]["status"] == "failed"


def test_offline_product_is_a_clear_reason_and_nothing_is_downloaded(odata, products, labels, tmp_path):
    far = products["far"]
    odata.publish(odata_product(far, online=False))
    odata.serve(far)
    out = tmp_path / "out"
    result = migrate_labels([str(labels["cloudy"])], odata.options(), str(out))
    row = result.rows[0]
    assert row["status"] == "failed", row
    assert f"'{far.name}' is offline (in the long-term archive)" in row["reason"]
    assert odata.product_gets(far) == []
    assert not (out / "images" / "cloudy_20200815.tif").exists()
    assert not (out / "downloads" / f"{far.name}.zip").exists()


def test_rerun_skips_the_pair_without_downloading_again(odata, products, labels, tmp_path):
    far = products["far"]
    odata.publish(odata_product(far))
    odata.serve(far)
    out = tmp_path / "out"
    first = migrate_labels([str(labels["cloudy"])], odata.options(), str(out))
    assert first.rows[0]["status"] == "done"
    image = out / "images" / "cloudy_20200815.tif"
    stamp = image.stat().st_mtime_ns
    before = (len(odata.files.log), len(odata.catalogue.requests))
    assert len(odata.product_gets(far)) == 1
    second = migrate_labels([str(labels["cloudy"])], odata.options(), str(out))
    row = second.rows[0]
    assert (row["status"], row["reason"], row["scene"]) == ("skipped", "already done", far.name)
    assert (len(odata.files.log), len(odata.catalogue.requests)) == before  # no search, token or product GET
    assert image.stat().st_mtime_ns == stamp
    # without the pair but with the verified download, the label is made again from downloads/ (no GET)
    image.unlink()
    third = migrate_labels([str(labels["cloudy"])], odata.options(), str(out))
    assert (third.rows[0]["status"], third.rows[0]["scene"]) == ("done", far.name)
    assert len(odata.product_gets(far)) == 1 and len(odata.catalogue.requests) == before[1] + 1
    assert_pair_is_the_product(out, "cloudy_20200815", labels["cloudy"], far, tmp_path)


def test_download_host_comes_from_the_options(odata, products, labels, tmp_path):
    """The catalogue answer names no download host: MigrationOptions.download_url decides it (a wrong one fails)."""
    far = products["far"]
    odata.publish(odata_product(far))
    odata.serve(far)
    options = odata.options(download_url=odata.files.url + "/elsewhere/v1")
    result = migrate_labels([str(labels["cloudy"])], options, str(tmp_path / "out"))
    row = result.rows[0]
    assert row["status"] == "failed" and "404" in row["reason"] and "/elsewhere/v1/Products(" in row["reason"], row
    assert odata.product_gets(far) == []


# -- DHuS --------------------------------------------------------------------------------------------

def test_dhus_downloads_with_basic_auth(products, labels, tmp_path):
    pytest.importorskip("sentinelsat")
    far = products["far"]
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with replay_server() as hub:
        path = f"/hub/odata/v1/Products('{far.id}')/$value"

        def product(request):
            if request.headers.get("Authorization") != expected:
                return 401, {"WWW-Authenticate": 'Basic realm="hub"', "Content-Type": "text/plain"}, b"unauthorized"
            return 200, {"Content-Type": "application/octet-stream"}, far.data
        hub.add(path, product)
        hub.add_json("/hub/search", dhus_feed([dhus_entry(far, hub.url + path)]))
        options = MigrationOptions(backend="dhus", url=hub.url + "/hub", credentials=(USER, PASSWORD), days_before=5,
                                   days_after=5, max_cloud=30.0, product="L2A", workers=2, write_report=False,
                                   cloud_masks=False)
        out = tmp_path / "out"
        result = migrate_labels([str(labels["cloudy"]), str(labels["clear"])], options, str(out))
        downloads = [r for r in hub.requests if r.path == path]
        searches = [r for r in hub.requests if r.path == "/hub/search"]
    for row in result.rows:
        # the hub's size ("0.37 MB") is rounded: the download is not discarded for it
        assert (row["status"], row["scene"], row["scene_cloud_pct"]) == ("done", far.name, "20"), row["reason"]
    # both labels use the one product: downloaded once (the second label waits for it and reuses it)
    assert len(downloads) == 1 and downloads[0].headers["Authorization"] == expected
    assert len(searches) == 2 and all(r.headers.get("Authorization") == expected for r in searches)
    assert (out / "downloads" / f"{far.name}.zip").read_bytes() == far.data
    assert_pair_is_the_product(out, "cloudy_20200815", labels["cloudy"], far, tmp_path)
    assert_pair_is_the_product(out, "clear_20200815", labels["clear"], far, tmp_path)


def test_dhus_product_answering_401_names_the_refusal(products, labels, tmp_path):
    """Wrong hub credentials: the search is answered (this hub's search is open), the download is refused."""
    pytest.importorskip("sentinelsat")
    far = products["far"]
    with replay_server() as hub:
        path = f"/hub/odata/v1/Products('{far.id}')/$value"
        hub.add(path, lambda _request: (401, {"Content-Type": "text/plain"}, b"unauthorized"))
        hub.add_json("/hub/search", dhus_feed([dhus_entry(far, hub.url + path)]))
        options = MigrationOptions(backend="dhus", url=hub.url + "/hub", credentials=(USER, "wrong-Pass-9"),
                                   days_before=5, days_after=5, max_cloud=30.0, product="L2A", write_report=False,
                                   cloud_masks=False)
        result = migrate_labels([str(labels["cloudy"])], options, str(tmp_path / "out"))
    row = result.rows[0]
    assert row["status"] == "failed" and "refused the credentials (HTTP 401" in row["reason"], row["reason"]
    assert "wrong-Pass-9" not in row["reason"]
    assert not (tmp_path / "out" / "downloads" / f"{far.name}.zip").exists()


def test_the_token_reaches_a_download_url_on_another_host_than_the_token_url(products, labels, tmp_path):
    """A private deployment whose download service (DOWNLOAD_URL) and token endpoint (TOKEN_URL) are on
    different hosts (here two loopback ports): the bearer token goes to the download host the user named,
    and the product arrives (before, the credential scope held only the token host and the public CDSE
    hosts, so the token was withheld and the download answered 401)."""
    near = products["near"]
    with replay_server() as catalogue, fault_server(user=USER, password=PASSWORD) as tokens, \
            fault_server(user=USER, password=PASSWORD) as files:
        files.accept_tokens_of(tokens)
        odata = OData(catalogue, files)
        odata.publish(odata_product(near))
        odata.serve(near)
        result = migrate_labels([str(labels["clear"])], odata.options(token_url=tokens.url + "/token"),
                                str(tmp_path / "out"))
        gets = odata.product_gets(near)
    assert rows_by_label(result)["clear_20200815"]["status"] == "done", result.rows
    assert gets and all(r.authorized and r.status == 200 for r in gets)
