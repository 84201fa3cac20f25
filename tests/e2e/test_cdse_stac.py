"""CDSE STAC v1 end to end: search (collections, cloud, date and area filters, paging) and migratelabels
reading the items' JP2 band files through their token-bound HTTPS alternates, window by window.

Real: the STAC API (stac-fastapi-pgstac on PostgreSQL + PostGIS) serving items built on the real CDSE v1
item structure (tests/data/cdse_stac/, SOURCE.md: the published item of
S2A_MSIL2A_20220217T183431_N0510_R027_T13VEK_20240516T022440); GDAL's JP2OpenJPEG driver reading JP2
files through /vsicurl/ range requests; the token dance (password grant, refresh grant) over HTTP against
a loopback OpenID token endpoint; the whole core.migration code path. Nothing is mocked.

Synthetic: the pixels (JP2s written here with JP2OpenJPEG on the tile's real UTM 13N grid: x from 499980,
y from 7000020, a 20 km corner of the 110 km tile), the other items' ids, dates and cloud covers, and the
servers that stand in for CDSE's identity and download services (tests/support/cdse_servers.py): they
keep the OData path of the alternates, demand a bearer token they issued, and answer byte ranges.

Tokens live LIFETIME seconds; CdseToken renews 60 s before expiry, so a token is good for about a second
here and the run must refresh it (the real ones live 600 s).
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal
from shapely import wkt as shapely_wkt
from shapely.geometry import box, shape

from labelmigration.core.migration.options import MigrationOptions
from labelmigration.core.migration.run import migrate_labels
from labelmigration.core.net import cdse_assets
from labelmigration.core.search.stac import StacBackend
from labelmigration.tests.support.georef import to_lonlat
from labelmigration.tests.support.cdse_scene import (
    BANDS, EPSG, ITEMS, L1C, L2A, LABEL_PIXELS, LABEL_PX, LEFT, LIFETIME, MIGRATED, PASSWORD, SCL_CLEAR, SCL_UNUSABLE,
    SIZE, TEMPLATE, TOP, USER, cdse_collection, cdse_item, served_file, write_jp2, write_labels)
from labelmigration.tests.support.cdse_servers import asset_server, token_server

pytestmark = pytest.mark.e2e

_PROVIDERS = []


def _lonlat(geometry):
    return to_lonlat(geometry, EPSG)


@pytest.fixture(scope="module")
def cdse_services(tmp_path_factory):
    """The token endpoint and download service running, the items made, the migrated item's JP2s written:
    (tokens, assets, {id: item}, {band: (path, pixels)}). No STAC API: the tests of the relay run without it."""
    root = tmp_path_factory.mktemp("cdse-assets")
    template = json.loads(TEMPLATE.read_text())
    with token_server(USER, PASSWORD, LIFETIME) as tokens, asset_server(root, tokens.issued) as assets:
        items = [cdse_item(template, *spec[:3], spec[3], "L2A", assets.url) for spec in ITEMS]
        items += [cdse_item(template, *spec[:3], spec[3], "L1C", assets.url) for spec in ITEMS[:2]]
        migrated = next(item for item in items if item["id"] == MIGRATED)
        rng = np.random.default_rng(7)
        written = {}
        for band in BANDS:
            pixels = rng.integers(1, 4000, (SIZE, SIZE)).astype(np.uint16)
            path = served_file(root, migrated["assets"][f"{band}_10m"]["alternate"]["https"]["href"])
            write_jp2(path, pixels, 10.0)
            written[band] = (path, pixels)
        scl = SCL_CLEAR[rng.integers(0, len(SCL_CLEAR), (SIZE, SIZE))]
        for number, (col, row) in enumerate(LABEL_PIXELS):  # clouds over part of each label, more for later ones
            scl[row // 2:row // 2 + 2 + number, col // 2:col // 2 + 50] = SCL_UNUSABLE[number % 4]
        path = served_file(root, migrated["assets"]["SCL_20m"]["alternate"]["https"]["href"])
        write_jp2(path, scl, 20.0)
        written["SCL"] = (path, scl)
        gdal.VSICurlClearCache()
        yield tokens, assets, {item["id"]: item for item in items}, written


@pytest.fixture(scope="module")
def cdse(e2e_servers_started, cdse_services):
    """cdse_services with the items loaded into the STAC API."""
    items = list(cdse_services[2].values())
    l2a = [item for item in items if item["collection"] == L2A]
    e2e_servers_started.database.load(
        [cdse_collection(L2A, l2a), cdse_collection(L1C, [i for i in items if i not in l2a])], items)
    return cdse_services


def _search_area() -> str:
    left, top = LEFT + LABEL_PIXELS[0][0] * 10, TOP - LABEL_PIXELS[0][1] * 10
    return _lonlat(box(left, top - 1000, left + 1000, top)).wkt


def test_search_filters_by_collection_cloud_date_and_area_across_pages(stac_api, cdse):
    """Expected: the items this module built, filtered here by their own fields (datetime in the window,
    eo:cloud_cover at most the limit, geometry intersecting the area); mapped as the template says (grid:code
    MGRS-13VEK, product:type, the id as the product name, the HTTPS alternate in place of the s3:// href).
    A page size of 2 for 3 or more answers: without paging only 2 would come back."""
    _tokens, _assets, items, _written = cdse
    start, end = dt.datetime(2022, 2, 15, tzinfo=dt.timezone.utc), dt.datetime(2022, 2, 25, tzinfo=dt.timezone.utc)
    area = shapely_wkt.loads(_search_area())
    backend = StacBackend(stac_api.url, page_size=2)
    for collection, level, max_cloud in ((L2A, "L2A", 50.0), (L2A, "L2A", None), (L1C, "L1C", 50.0)):
        scenes = backend.search(_search_area(), start, end, max_cloud=max_cloud, product=level, collection=collection)
        expected = {item_id for item_id, item in items.items() if item["collection"] == collection
                    and start <= dt.datetime.fromisoformat(item["properties"]["datetime"][:19] + "+00:00") <= end
                    and (max_cloud is None or item["properties"]["eo:cloud_cover"] <= max_cloud)
                    and shape(item["geometry"]).intersects(area)}
        assert len(expected) >= 2 + (level == "L2A")
        assert sorted(scene.id for scene in scenes) == sorted(expected)
        for scene in scenes:
            item = items[scene.id]
            assert scene.title == item["id"] and scene.tile == "13VEK" and scene.level == level
            assert scene.product_type == item["properties"]["product:type"]
            assert scene.cloud_cover == item["properties"]["eo:cloud_cover"]
            assert scene.datetime.isoformat()[:19] == item["properties"]["datetime"][:19]
            assert scene.assets["B02_10m"] == item["assets"]["B02_10m"]["alternate"]["https"]["href"]
            assert not any(href.startswith("s3://") for href in scene.assets.values())


def test_migratelabels_reads_cdse_assets_windowed_with_a_refreshed_token_and_leaks_no_secret(
        stac_api, cdse, tmp_path, caplog):
    """Expected: each pair's bands equal the JP2 files' own pixels under its label (read here from the files
    written, not through the plugin); the footprint cloud from the SCL JP2's pixels under the label (classes
    3, 8, 9, 10); the download service's own log: only ranged GETs, each band file sent less than half, at most
    4 requests at once, at least two tokens used and a refresh grant asked; no password or token in any
    output file or log record."""
    tokens, assets, items, written = cdse
    folder = tmp_path / "labels"
    folder.mkdir()
    labels = write_labels(folder)
    migrated = items[MIGRATED]
    for col, row, _ in labels.values():  # the labels are inside the migrated item's footprint
        left, top = LEFT + col * 10, TOP - row * 10
        assert shape(migrated["geometry"]).contains(_lonlat(box(left, top - 1000, left + 1000, top)))
    before = len(assets.requests)
    options = MigrationOptions(backend="stac", url=stac_api.url, collection=L2A, credentials=(USER, PASSWORD),
                               token_url=tokens.url, download_url=assets.url, bands=list(BANDS), days_before=2,
                               days_after=1, max_cloud=60.0, cloud_masks=False, write_report=True, workers=4)
    output = tmp_path / "out"
    caplog.set_level(logging.DEBUG)

    result = migrate_labels(str(folder), options, str(output))

    assert [row["status"] for row in result.rows] == ["done"] * len(labels), result.rows
    with open(output / "matches.csv", newline="", encoding="utf-8") as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    for name, (col, row, label_values) in labels.items():
        assert rows[name]["scene"] == MIGRATED
        image = gdal.Open(str(output / "images" / f"{name}.tif"))
        assert image.GetGeoTransform() == pytest.approx((LEFT + col * 10, 10, 0, TOP - row * 10, 0, -10))
        for index, band in enumerate(BANDS, start=1):
            path, pixels = written[band]
            jp2 = gdal.Open(str(path))  # kept while its band is read
            source = jp2.GetRasterBand(1).ReadAsArray(col, row, LABEL_PX, LABEL_PX)
            jp2 = None
            assert np.array_equal(source, pixels[row:row + LABEL_PX, col:col + LABEL_PX])
            assert np.array_equal(image.GetRasterBand(index).ReadAsArray(), source), (name, band)
        scl = written["SCL"][1][row // 2:row // 2 + LABEL_PX // 2, col // 2:col // 2 + LABEL_PX // 2]
        assert float(rows[name]["footprint_cloud_pct"]) == pytest.approx(100.0 * np.isin(scl, SCL_UNUSABLE).mean())
        image = None
        label = gdal.Open(str(output / "labels" / f"{name}.tif"))
        assert np.array_equal(label.GetRasterBand(1).ReadAsArray(), label_values)
        label = None

    requests = assets.requests[before:]
    gets = [request for request in requests if request.status in (200, 206)]
    assert gets and all(request.range and request.status == 206 for request in gets), \
        [r for r in gets if r.status != 206][:3]
    for band, (path, _) in written.items():
        sent = sum(request.sent for request in gets if request.path.endswith(f"Nodes({path.name})/$value"))
        share = sent / path.stat().st_size
        print(f"{band}: {sent} of {path.stat().st_size} bytes sent ({100 * share:.1f} %)")
        assert 0 < sent and (share < 0.5 or band == "SCL"), (band, sent)
    assert assets.most_at_once <= 4, assets.most_at_once
    print(f"most requests at once: {assets.most_at_once}; tokens used: {len({r.token for r in requests})}; "
          f"grants: {tokens.issued.grants}")
    assert "refresh_token" in tokens.issued.grants
    assert len({request.token for request in gets}) >= 2

    secrets = [PASSWORD, *tokens.issued.expires, *tokens.issued.refresh_tokens]
    checked = 0
    for path in output.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            checked += 1
            for secret in secrets:
                assert secret.encode() not in content, f"a secret is in {path}"
    assert checked >= 2 * len(labels) + 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(secret in logged for secret in secrets)


def test_the_relay_sends_at_most_four_requests_to_cdse_at_once(cdse_services):
    """Expected: the limit of the Copernicus Data Space (4 connections per user), counted by the download
    service itself while 12 clients ask at once for ranges that each take 0.2 s to answer."""
    tokens, assets, items, written = cdse_services
    href = items[MIGRATED]["assets"]["B02_10m"]["alternate"]["https"]["href"]
    token = cdse_assets.asset_token("relay-test", (USER, PASSWORD), tokens.url, [assets.url])
    local = cdse_assets.relay().register(href, token, None)
    assets.delay, before_most = 0.2, assets.most_at_once
    assets.most_at_once = 0
    answers = []

    def ask(number: int) -> None:
        request = urllib.request.Request(local, headers={"Range": f"bytes={number * 100}-{number * 100 + 99}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            answers.append((answer.status, answer.read()))

    try:
        threads = [threading.Thread(target=ask, args=(number,)) for number in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        most = assets.most_at_once
    finally:
        assets.delay, assets.most_at_once = 0.02, max(before_most, assets.most_at_once)
        cdse_assets.forget_run("relay-test")
    content = written["B02"][0].read_bytes()
    assert sorted(answers) == sorted((206, content[n * 100:n * 100 + 100]) for n in range(12))
    assert most == 4
    with pytest.raises(urllib.error.HTTPError) as refused:  # forgotten: the relay no longer knows the path
        urllib.request.urlopen(local, timeout=10)
    assert refused.value.code == 404


def test_the_vrt_over_cdse_assets_names_the_relay_and_holds_no_secret(cdse_services, tmp_path):
    """Expected: the VRT's sources are the relay's loopback paths (the design: GDAL never sees the token);
    none of the password and the tokens the token endpoint issued is in the VRT's text; its pixels are the
    JP2's own (read here from the file written)."""
    from labelmigration.core.migration.stac_assets import stac_rasters
    from labelmigration.core.search.stac import item_scene
    tokens, assets, items, written = cdse_services
    scene = item_scene(items[MIGRATED], "stac")
    try:
        bound = cdse_assets.token_bound_scenes([scene], "vrt-test", (USER, PASSWORD), tokens.url, [assets.url])
        vrt, scl = stac_rasters(bound, list(BANDS), str(tmp_path))
        text = Path(vrt).read_text()
        dataset = gdal.Open(vrt)
        pixels = dataset.GetRasterBand(1).ReadAsArray(700, 300, 64, 64)
        dataset = None
    finally:
        cdse_assets.forget_run("vrt-test")
    relay_url = cdse_assets.relay().url
    assert text.count(relay_url + "/") == len(BANDS) and "dataspace" not in text and assets.url not in text
    assert scl.startswith("/vsicurl/" + relay_url + "/") and scl.endswith("_SCL_20m.jp2")
    assert np.array_equal(pixels, written["B02"][1][300:364, 700:764])
    for secret in [PASSWORD, *tokens.issued.expires, *tokens.issued.refresh_tokens]:
        assert secret not in text


def test_a_token_the_service_refuses_is_renewed_and_the_read_goes_on(cdse_services):
    """Expected: the download service's own log: the revoked token answered 401, the same range asked again
    with a new token answered 206 with the file's own bytes."""
    tokens, assets, items, written = cdse_services
    href = items[MIGRATED]["assets"]["B03_10m"]["alternate"]["https"]["href"]
    token = cdse_assets.asset_token("renew-test", (USER, PASSWORD), tokens.url, [assets.url])
    token.provider.refresh_margin = 0.0  # good for its whole LIFETIME: only the refusal may renew it here
    try:
        local = cdse_assets.relay().register(href, token, None)
        read = urllib.request.Request(local, headers={"Range": "bytes=1000-1999"})
        with urllib.request.urlopen(read, timeout=30) as answer:
            assert answer.read() == written["B03"][0].read_bytes()[1000:2000]
        first = assets.requests[-1].token
        with tokens.issued.lock:
            tokens.issued.expires[first] = 0.0  # revoked before its time: the relay cannot know
        before = len(assets.requests)
        with urllib.request.urlopen(read, timeout=30) as answer:
            assert answer.status == 206 and answer.read() == written["B03"][0].read_bytes()[1000:2000]
    finally:
        cdse_assets.forget_run("renew-test")
    after = [(request.status, request.token) for request in assets.requests[before:]]
    assert after[0] == (401, first) and after[-1][0] == 206 and after[-1][1] not in (None, first)


def test_the_algorithm_takes_the_login_from_a_qgis_auth_config_and_no_secret_reaches_the_project(
        qgis_app, qgis_processing, stac_api, cdse, tmp_path):
    """migratelabels as a user runs it (BACKEND=stac, AUTHCFG a Basic configuration). Expected: a pair for the
    label, the migrated item's JP2 pixels under it (read here from the file written); the password and every
    token issued absent from each output file and from the saved project holding the algorithm's layers."""
    import processing
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject, QgsVectorLayer

    from labelmigration.processing.provider import LabelMigrationProvider
    from labelmigration.tests.support.qgis_auth import auth_config

    registry = QgsApplication.processingRegistry()
    if registry.providerById("labelmigration") is None:
        _PROVIDERS.append(LabelMigrationProvider())  # the registry keeps the C++ half; Python must keep this one
        assert registry.addProvider(_PROVIDERS[-1])
    tokens, assets, _items, written = cdse
    folder = tmp_path / "labels"
    folder.mkdir()
    name, (col, row, _values) = next(iter(write_labels(folder).items()))
    for other in folder.glob("*.tif"):
        if other.stem != name:
            other.unlink()
    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    result = processing.run("labelmigration:migratelabels", {
        "LABELS": str(folder), "BACKEND": "stac", "URL": stac_api.url, "COLLECTION": L2A,
        "AUTHCFG": auth_config(USER, PASSWORD), "DOWNLOAD_URL": assets.url, "TOKEN_URL": tokens.url,
        "DAYS_BEFORE": 2, "DAYS_AFTER": 1, "MAX_CLOUD": 60, "OUTPUT_FOLDER": str(tmp_path / "out")},
        context=context, feedback=QgsProcessingFeedback())

    assert result["PAIRS"] == 1
    image = gdal.Open(str(tmp_path / "out" / "images" / f"{name}.tif"))
    assert np.array_equal(image.GetRasterBand(1).ReadAsArray(), written["B02"][1][row:row + LABEL_PX,
                                                                                  col:col + LABEL_PX])
    image = None
    for layer_name in ("footprints", "scenes"):
        layer = QgsVectorLayer(f"{result['FOOTPRINTS'].split('|')[0]}|layername={layer_name}", layer_name, "ogr")
        assert layer.isValid()
        project.addMapLayer(layer)
    project_file = tmp_path / "project.qgs"
    assert project.write(str(project_file))
    secrets = [PASSWORD, *tokens.issued.expires, *tokens.issued.refresh_tokens]
    files = [path for path in [project_file, *(tmp_path / "out").rglob("*")] if path.is_file()]
    assert len(files) >= 4
    for path in files:
        content = path.read_bytes()
        assert not any(secret.encode() in content for secret in secrets), path


def test_a_server_that_ignores_ranges_has_the_file_downloaded_once(cdse_services):
    """Expected: the download service's own log: one whole-file answer (200) for two ranged reads, each read
    answered with the file's own bytes; the copy gone once the run is forgotten."""
    tokens, assets, items, written = cdse_services
    href = items[MIGRATED]["assets"]["B04_10m"]["alternate"]["https"]["href"]
    content = written["B04"][0].read_bytes()
    relay = cdse_assets.relay()
    assets.ranges = False
    try:
        token = cdse_assets.asset_token("whole-test", (USER, PASSWORD), tokens.url, [assets.url])
        local = relay.register(href, token, None)
        before = len(assets.requests)
        for start in (5000, 123456):
            read = urllib.request.Request(local, headers={"Range": f"bytes={start}-{start + 999}"})
            with urllib.request.urlopen(read, timeout=60) as answer:
                assert answer.status == 206 and answer.read() == content[start:start + 1000]
        asked = [(request.status, request.sent) for request in assets.requests[before:]]
        copy = relay.copies[relay.entry(local[len(relay.url):])[0]]
        assert os.path.getsize(copy) == len(content)
    finally:
        assets.ranges = True
        cdse_assets.forget_run("whole-test")
    assert asked == [(200, len(content))]
    assert not os.path.exists(copy)


def test_on_a_dask_cluster_each_worker_logs_in_once_and_forgets_the_token_after_the_run(stac_api, cdse, tmp_path):
    """migratelabels on a Dask LocalCluster of 2 worker processes. Expected: a pair per label, each band equal to
    the JP2 files' own pixels under it (read here from the files written); the token endpoint's own log: one
    password grant per worker process that ran labels (each holds its own token and relay), never more than
    the 2 processes; after the run no worker process holds a token or a relay path (cdse_assets.held_runs
    asked on every worker: {} on each), while the download service saw requests with those tokens."""
    distributed = pytest.importorskip("distributed")
    tokens, assets, _items, written = cdse
    folder = tmp_path / "labels"
    folder.mkdir()
    labels = write_labels(folder)
    grants_before, requests_before = len(tokens.issued.grants), len(assets.requests)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        options = MigrationOptions(backend="stac", url=stac_api.url, collection=L2A, credentials=(USER, PASSWORD),
                                   token_url=tokens.url, download_url=assets.url, bands=list(BANDS), days_before=2,
                                   days_after=1, max_cloud=60.0, cloud_masks=False, write_report=False,
                                   executor=cluster.scheduler_address)
        result = migrate_labels(str(folder), options, str(tmp_path / "out"))
        held = client.run(cdse_assets.held_runs)
        worker_pids = set(client.run(os.getpid).values())

    assert [row["status"] for row in result.rows] == ["done"] * len(labels), result.rows
    for name, (col, row, _values) in labels.items():
        image = gdal.Open(str(tmp_path / "out" / "images" / f"{name}.tif"))
        for index, band in enumerate(BANDS, start=1):
            assert np.array_equal(image.GetRasterBand(index).ReadAsArray(),
                                  written[band][1][row:row + LABEL_PX, col:col + LABEL_PX]), (name, band)
        image = None
    password_grants = tokens.issued.grants[grants_before:].count("password")
    used = {request.token for request in assets.requests[requests_before:] if request.status == 206}
    print(f"Dask: {len(worker_pids)} worker processes, {password_grants} logins, {len(used)} tokens used, "
          f"held after the run: {held}")
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert 1 <= password_grants <= 2 and used
    assert held == {address: {} for address in held} and len(held) == 2
