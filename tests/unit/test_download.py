"""core/net/download.py against a loopback server that injects faults: every download ends byte-identical
or with a clear message, never with a partial file under the final name."""
import hashlib
import json
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import time
import types

import pytest

from labelmigration.core.net.cdse import CdseToken, odata_job
from labelmigration.core.net.checksums import odata_checksums
from labelmigration.core.net.content_checks import WrongContent
from labelmigration.core.net.download import download
from labelmigration.core.net.download_types import (DownloadFailed, DownloadJob, DownloadResult, ProductOffline,
                                                    offline_result)
from labelmigration.core.net.parallel_downloads import download_many
from labelmigration.core.net.scene_downloads import scene_jobs
from labelmigration.core.util.errors import Cancelled, LabelMigrationError
from labelmigration.core.net.http import HttpError
from labelmigration.tests.support.fault_server import Fault, corrupted, fault_server

SIZE = 600_000
FAST = {"backoff": 0.01, "timeout": 5, "chunk_size": 65536}
ZIP, TIFF = b"PK\x03\x04", b"II*\x00"  # downloads must start like their kind (core.net.content_checks.SIGNATURES)


def payload(size: int = SIZE, seed: int = 1, header: bytes = ZIP) -> bytes:
    """size bytes that start like a zip (or header), then random."""
    return header + random.Random(seed).randbytes(size - len(header))


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def server():
    with fault_server() as running:
        yield running


@pytest.fixture
def product(server):
    """A product on the server: (url, bytes)."""
    data = payload()
    return server.add_file("/odata/v1/Products(abc)/$value", data), data


PATH = "/odata/v1/Products(abc)/$value"


def folder_names(folder):
    return sorted(p.name for p in folder.iterdir())


# -- faults -------------------------------------------------------------------------------------
def test_plain_download_is_verified_and_renamed(server, product, tmp_path):
    url, data = product
    target = tmp_path / "S2A.zip"
    seen = []
    result = download(url, str(target), expected_size=SIZE, checksums={"MD5": md5(data)}, progress=seen.append, **FAST)
    assert target.read_bytes() == data
    assert folder_names(tmp_path) == ["S2A.zip"]
    assert result.verified_with == "MD5" and result.size == SIZE and not result.resumed and result.requests == 1
    assert seen[-1].bytes_done == SIZE and seen[-1].bytes_total == SIZE and seen[-1].fraction == 1.0
    assert all(state.rate_bytes_per_s > 0 for state in seen)


def test_connection_cut_halfway_resumes_with_range(server, product, tmp_path):
    url, data = product
    server.script(PATH, Fault(cut_after=SIZE // 2))
    target = tmp_path / "S2A.zip"
    result = download(url, str(target), checksums={"MD5": md5(data)}, **FAST)
    assert target.read_bytes() == data
    requests = server.requests_to(PATH)
    assert [r.range for r in requests] == [None, f"bytes={SIZE // 2}-"]
    assert [r.status for r in requests] == [200, 206]
    assert result.resumed and result.requests == 2


def test_429_retry_after_is_honoured(server, product, tmp_path):
    url, data = product
    server.script(PATH, Fault(status=429, retry_after="1"))
    started = time.monotonic()
    download(url, str(tmp_path / "a.zip"), checksums={"MD5": md5(data)}, **FAST)
    assert time.monotonic() - started >= 0.95  # Retry-After: 1, although the backoff base is 0.01 s
    assert (tmp_path / "a.zip").read_bytes() == data


def test_503_then_success(server, product, tmp_path):
    url, data = product
    server.script(PATH, Fault(status=503), Fault(status=503))
    download(url, str(tmp_path / "a.zip"), checksums={"MD5": md5(data)}, **FAST)
    assert (tmp_path / "a.zip").read_bytes() == data
    assert [r.status for r in server.requests_to(PATH)] == [503, 503, 200]


def test_timeout_then_success(server, product, tmp_path):
    url, data = product
    server.script(PATH, Fault(timeout=1.0))
    started = time.monotonic()
    download(url, str(tmp_path / "a.zip"), checksums={"MD5": md5(data)}, backoff=0.01, timeout=0.3)
    assert time.monotonic() - started < 0.95  # gave up on the silent server after 0.3 s
    assert (tmp_path / "a.zip").read_bytes() == data
    assert len(server.requests_to(PATH)) == 2


def test_wrong_checksum_is_reported_and_nothing_is_left(server, product, tmp_path):
    url, data = product
    server.script(PATH, Fault(wrong_bytes=True))
    with pytest.raises(LabelMigrationError) as caught:
        download(url, str(tmp_path / "S2A.zip"), checksums={"MD5": md5(data)}, **FAST)
    message = str(caught.value)
    wrong = md5(corrupted(data))
    assert "'S2A.zip'" in message and md5(data) in message and wrong in message and "MD5" in message
    assert folder_names(tmp_path) == []


def test_wrong_size_is_reported(server, product, tmp_path):
    url, _data = product
    with pytest.raises(LabelMigrationError, match=f"has {SIZE} bytes but the catalogue says {SIZE + 1}"):
        download(url, str(tmp_path / "a.zip"), expected_size=SIZE + 1, **FAST)
    assert folder_names(tmp_path) == []


def test_server_ignoring_range_restarts_from_zero(server, product, tmp_path):
    url, data = product
    server.script(PATH, Fault(cut_after=SIZE // 3), Fault(ignore_range=True))
    download(url, str(tmp_path / "a.zip"), checksums={"MD5": md5(data)}, **FAST)
    assert (tmp_path / "a.zip").read_bytes() == data
    requests = server.requests_to(PATH)
    assert [r.range for r in requests] == [None, f"bytes={SIZE // 3}-"] and requests[1].status == 200


def test_several_faults_in_a_row(server, product, tmp_path):
    url, data = product
    server.script(PATH, Fault(cut_after=100_000), Fault(status=503), Fault(timeout=0.5), Fault(cut_after=200_000),
                  Fault(status=429, retry_after="0"))
    download(url, str(tmp_path / "a.zip"), expected_size=SIZE, checksums={"MD5": md5(data)},
             backoff=0.01, timeout=0.3, chunk_size=65536)
    assert (tmp_path / "a.zip").read_bytes() == data
    assert [r.range for r in server.requests_to(PATH)][-1] == "bytes=300000-"


def test_retries_run_out_with_a_clear_message(server, product, tmp_path):
    url, _data = product
    server.script(PATH, *[Fault(status=503)] * 4)
    with pytest.raises(HttpError, match=r"failed after 2 retries \(tried 3 times in \d+ s\): .*HTTP 503"):
        download(url, str(tmp_path / "a.zip"), retries=2, **FAST)
    assert folder_names(tmp_path) == []


def test_resume_from_a_part_file_of_an_earlier_run(server, product, tmp_path):
    url, data = product
    (tmp_path / "a.zip.part").write_bytes(data[:250_000])
    result = download(url, str(tmp_path / "a.zip"), checksums={"MD5": md5(data)}, **FAST)
    assert (tmp_path / "a.zip").read_bytes() == data and result.resumed
    assert server.requests_to(PATH)[0].range == "bytes=250000-"


def test_stale_part_file_is_downloaded_again(server, product, tmp_path):
    url, data = product
    (tmp_path / "a.zip.part").write_bytes(payload(250_000, seed=9))  # from another version of the product
    download(url, str(tmp_path / "a.zip"), checksums={"MD5": md5(data)}, **FAST)
    assert (tmp_path / "a.zip").read_bytes() == data
    assert [r.range for r in server.requests_to(PATH)] == ["bytes=250000-", None]


def test_complete_target_is_skipped(server, product, tmp_path):
    url, data = product
    (tmp_path / "a.zip").write_bytes(data)
    result = download(url, str(tmp_path / "a.zip"), checksums={"MD5": md5(data)}, **FAST)
    assert result.skipped and server.log == []


def test_damaged_target_is_replaced(server, product, tmp_path):
    url, data = product
    (tmp_path / "a.zip").write_bytes(b"old")
    result = download(url, str(tmp_path / "a.zip"), checksums={"md5": md5(data).upper()}, **FAST)
    assert not result.skipped and (tmp_path / "a.zip").read_bytes() == data


# -- checksums ----------------------------------------------------------------------------------
def test_sha256_is_checked(server, product, tmp_path):
    url, data = product
    with pytest.raises(LabelMigrationError, match="SHA256 checksum"):
        download(url, str(tmp_path / "a.zip"), checksums={"SHA-256": "00" * 32}, **FAST)
    download(url, str(tmp_path / "a.zip"), checksums={"SHA-256": hashlib.sha256(data).hexdigest()}, **FAST)


def test_blake3_without_the_package_falls_back_to_size(server, product, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "blake3", None)  # import blake3 -> ImportError
    url, data = product
    with caplog.at_level(logging.WARNING):
        result = download(url, str(tmp_path / "a.zip"), expected_size=SIZE, checksums={"BLAKE3": "ab" * 32}, **FAST)
    assert result.verified_with == "size" and (tmp_path / "a.zip").read_bytes() == data
    assert any("blake3" in warning for warning in result.warnings) and "blake3" in caplog.text


def test_blake3_is_used_when_importable(server, product, tmp_path, monkeypatch):
    fake = types.ModuleType("blake3")
    fake.blake3 = hashlib.sha3_256  # stands in for the real package: same hashlib-style interface
    monkeypatch.setitem(sys.modules, "blake3", fake)
    url, data = product
    with pytest.raises(LabelMigrationError, match="BLAKE3 checksum"):
        download(url, str(tmp_path / "a.zip"), checksums={"BLAKE3": "ab" * 32}, **FAST)
    result = download(url, str(tmp_path / "a.zip"), checksums={"BLAKE3": hashlib.sha3_256(data).hexdigest()}, **FAST)
    assert result.verified_with == "BLAKE3"


# -- cancel, disk, offline ----------------------------------------------------------------------
def test_cancel_leaves_no_final_file_and_a_resumable_part(server, product, tmp_path):
    url, data = product
    target = tmp_path / "a.zip"
    seen = []
    with pytest.raises(Cancelled):
        download(url, str(target), checksums={"MD5": md5(data)}, progress=seen.append,
                 is_cancelled=lambda: len(seen) >= 3, **FAST)
    assert not target.exists()
    kept = (tmp_path / "a.zip.part").stat().st_size
    assert 0 < kept < SIZE
    download(url, str(target), checksums={"MD5": md5(data)}, **FAST)
    assert target.read_bytes() == data and server.log[-1].range == f"bytes={kept}-"


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB tmpfs, mounted for the test (needs root and permission to mount)."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    if not shutil.which("mount"):
        pytest.skip("no mount command to make a small disk")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 1 MB tmpfs to fill: {mounted.stderr.decode().strip() or 'not permitted'}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_disk_filling_during_download_removes_the_part_file(server, small_disk):
    data = payload(2_000_000)
    url = server.add_file("/big.zip", data)
    with pytest.raises(LabelMigrationError) as caught:
        download(url, str(small_disk / "big.zip"), checksums={"MD5": md5(data)}, **FAST)
    assert "is full" in str(caught.value) and "partial file was removed" in str(caught.value)
    assert folder_names(small_disk) == []


def test_too_little_space_is_said_before_downloading(server, small_disk):
    data = payload(2_000_000)
    url = server.add_file("/big.zip", data)
    with pytest.raises(LabelMigrationError, match="Not enough free space .* needs 2.0 MB"):
        download(url, str(small_disk / "big.zip"), expected_size=len(data), **FAST)
    assert server.log == [] and folder_names(small_disk) == []


def test_dhus_202_accepted_is_reported_as_offline(server, product, tmp_path):
    url, _data = product
    server.script(PATH, Fault(status=202))
    result = download(url, str(tmp_path / "S2A.zip"), **FAST)
    assert isinstance(result, ProductOffline) and result.offline and "long-term archive" in result.message
    assert folder_names(tmp_path) == []


def test_odata_products_become_jobs_or_offline_results(catalogue_dir, tmp_path):
    answer = json.loads((catalogue_dir / "odata/cdse-odata-sentinel2-search.json").read_text())
    product = answer["value"][0]
    job = odata_job(product, str(tmp_path))
    assert job.url == f"https://download.dataspace.copernicus.eu/odata/v1/Products({product['Id']})/$value"
    assert job.target == str(tmp_path / f"{product['Name']}.zip") and job.expected_size == product["ContentLength"]
    assert set(job.checksums) == {"MD5", "BLAKE3"} and job.checksums == odata_checksums(product)
    offline = odata_job({**product, "Online": False}, str(tmp_path))
    assert isinstance(offline, ProductOffline) and product["Name"] in offline.message
    assert offline_result("u", "t", product=product) is None


# -- tokens -------------------------------------------------------------------------------------
def token_for(server, password="secret", **options):
    return CdseToken("alice", password, token_url=f"{server.url}/token", **options)


def test_token_refresh_during_a_long_download(tmp_path):
    data = payload(640 * 1024)
    with fault_server(token_lifetime=1.0) as server:
        url = server.add_file("/odata/v1/Products(x)/$value", data, protected=True)
        server.throttle = 0.05
        server.script("/odata/v1/Products(x)/$value", Fault(cut_after=300_000, throttle=0.15),
                      Fault(cut_after=200_000, throttle=0.15))
        token = token_for(server, refresh_margin=0.3)
        started = time.monotonic()
        download(url, str(tmp_path / "x.zip"), checksums={"MD5": md5(data)}, headers_provider=token, **FAST)
        assert time.monotonic() - started > 1.0  # outlived the first token
        assert (tmp_path / "x.zip").read_bytes() == data
        requests = server.requests_to("/odata/v1/Products(x)/$value")
        assert len(requests) == 3 and all(r.authorized and r.status in (200, 206) for r in requests)
        assert server.password_grants == 1 and server.refresh_grants >= 1


def test_refused_refresh_logs_in_again(server):
    now = [0.0]
    token = token_for(server, clock=lambda: now[0])
    first = token.access_token()
    assert token.access_token() == first  # still fresh: no new request
    now[0] = 600 - 30  # within 60 s of expiry
    second = token.access_token()
    assert second != first and (server.password_grants, server.refresh_grants) == (1, 1)
    server.refresh_works = False
    now[0] = 2 * 600
    assert token.access_token() not in (first, second)
    assert (server.password_grants, server.refresh_grants) == (2, 1)


def test_token_the_server_expired_early_is_renewed_once(tmp_path):
    with fault_server(token_lifetime=0.2) as server:
        url = server.add_file("/p.zip", ZIP + b"data", protected=True)
        token = token_for(server, refresh_margin=0, clock=lambda: 0.0)  # the client believes its token stays fresh
        download(url, str(tmp_path / "1.zip"), headers_provider=token, **FAST)
        time.sleep(0.3)
        download(url, str(tmp_path / "2.zip"), headers_provider=token, **FAST)
        assert [r.status for r in server.requests_to("/p.zip")] == [200, 401, 200]
        assert (tmp_path / "2.zip").read_bytes() == ZIP + b"data" and server.refresh_grants == 1


def test_wrong_password_gives_401_without_the_password(server, product, tmp_path, caplog):
    url = server.add_file("/protected.zip", b"data", protected=True)
    token = token_for(server, password="Tr0ub4dor&3-not-right")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(HttpError) as caught:
            download(url, str(tmp_path / "p.zip"), headers_provider=token, **FAST)
    message = str(caught.value)
    assert caught.value.status == 401 and "check the user name and password" in message and "'alice'" in message
    assert "Tr0ub4dor" not in message and "Tr0ub4dor" not in caplog.text and "Tr0ub4dor" not in repr(token)
    assert caught.value.__cause__ is None and folder_names(tmp_path) == []


def test_protected_file_without_credentials_is_a_401_message(server, tmp_path):
    url = server.add_file("/protected.zip", b"data", protected=True)
    with pytest.raises(HttpError, match=r"refused the credentials \(HTTP 401"):
        download(url, str(tmp_path / "p.zip"), **FAST)


# -- several downloads --------------------------------------------------------------------------
def test_at_most_four_parallel_connections(server, tmp_path):
    files = {f"/asset{index}.tif": payload(200_000, seed=index, header=TIFF) for index in range(8)}
    jobs = [DownloadJob(server.add_file(path, data), str(tmp_path / path[1:]), len(data), {"MD5": md5(data)})
            for path, data in files.items()]
    server.throttle = 0.1
    seen = []
    results = download_many(jobs, max_connections=8, progress=seen.append, **FAST)
    assert server.peak == 4
    assert all(isinstance(r, DownloadResult) for r in results)
    assert all((tmp_path / path[1:]).read_bytes() == data for path, data in files.items())
    assert seen[-1].bytes_done == seen[-1].bytes_total == 8 * 200_000


def test_download_many_survives_faults_and_reports_failures(server, tmp_path):
    good, bad = payload(100_000, 1, TIFF), payload(100_000, 2, TIFF)
    jobs = [DownloadJob(server.add_file("/good.tif", good), str(tmp_path / "good.tif"), checksums={"MD5": md5(good)}),
            DownloadJob(server.add_file("/bad.tif", bad), str(tmp_path / "bad.tif"), checksums={"MD5": md5(good)})]
    server.script("/good.tif", Fault(cut_after=40_000), Fault(status=503, retry_after="0"))
    with pytest.raises(LabelMigrationError, match=r"1 of 2 downloads failed:\n- 'bad.tif' is damaged") as caught:
        download_many(jobs, **FAST)
    assert (tmp_path / "good.tif").read_bytes() == good and not (tmp_path / "bad.tif").exists()
    assert caught.value.results[0].ok and not caught.value.results[1].ok
    outcomes = download_many(jobs, raise_on_error=False, **FAST)
    assert outcomes[0].skipped and isinstance(outcomes[1], DownloadFailed)


def test_cancel_stops_every_download(server, tmp_path):
    files = {f"/asset{index}.tif": payload(400_000, seed=index, header=TIFF) for index in range(6)}
    jobs = [DownloadJob(server.add_file(path, data), str(tmp_path / path[1:])) for path, data in files.items()]
    server.throttle = 0.05
    started = time.monotonic()
    with pytest.raises(Cancelled):
        download_many(jobs, is_cancelled=lambda: time.monotonic() - started > 0.2, **FAST)
    assert time.monotonic() - started < 2
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith(".part")]


def test_real_blake3_checksum(server, product, tmp_path):
    blake3 = pytest.importorskip("blake3", reason="the optional blake3 package is not installed")
    # the BLAKE3 test vector for "abc": the package computes the real BLAKE3
    assert blake3.blake3(b"abc").hexdigest() == "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
    url, data = product
    result = download(url, str(tmp_path / "a.zip"), checksums={"BLAKE3": blake3.blake3(data).hexdigest()}, **FAST)
    assert result.verified_with == "BLAKE3" and (tmp_path / "a.zip").read_bytes() == data
    with pytest.raises(LabelMigrationError, match="BLAKE3 checksum"):
        download(url, str(tmp_path / "b.zip"), checksums={"BLAKE3": "00" * 32}, **FAST)


# -- what arrived must be what was asked for (issue 13: an HTML page served with 200 was saved as .zip) --
def test_html_page_with_200_is_not_saved_as_a_zip(server, product, tmp_path):
    url, _data = product
    server.script(PATH, Fault(html_error=True))
    with pytest.raises(WrongContent) as caught:
        download(url + "?token=abc", str(tmp_path / "S2A.zip"), retries=0, **FAST)
    message = str(caught.value)
    assert f"{server.url}{PATH} sent an HTML page instead of a zip archive for 'S2A.zip'" in message
    assert "token=abc" not in message and folder_names(tmp_path) == []
    assert len(server.requests_to(PATH)) == 1  # not retried: another try brings the same page


@pytest.mark.parametrize("name, body, content_type, came", [
    ("a.zip", b"<!DOCTYPE html><html>login</html>", "application/octet-stream", "an HTML page"),
    ("a.zip", b'{"detail": "Expired signature!"}', "application/octet-stream", "JSON text"),
    ("a.tif", TIFF + b"x" * 100, "application/json", "'application/json' text"),
    ("a.tiff", ZIP + b"x" * 100, "image/tiff", "bytes 50 4b 03 04"),
    ("a.jp2", TIFF + b"x" * 100, "image/jp2", "bytes 49 49 2a 00"),
    ("a.zip", b"", "application/zip", "an empty file"),
])
def test_content_that_is_not_the_kind_asked_for_is_refused(server, tmp_path, name, body, content_type, came):
    url = server.add_file("/" + name, body, content_type=content_type)
    with pytest.raises(WrongContent, match=f"sent {re.escape(came)}.* instead of"):
        download(url, str(tmp_path / name), retries=0, **FAST)
    assert folder_names(tmp_path) == []


@pytest.mark.parametrize("name, body", [
    ("a.jp2", b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"x" * 50), ("a.tif", b"MM\x00*" + b"x" * 50),
    ("a.zip", b"PK\x05\x06" + bytes(18)), ("metadata.xml", b"<?xml version='1.0'?><a/>"),
])
def test_content_of_the_kind_asked_for_passes(server, tmp_path, name, body):
    url = server.add_file("/" + name, body, content_type="text/xml" if name.endswith(".xml") else "binary/octet-stream")
    download(url, str(tmp_path / name), **FAST)
    assert (tmp_path / name).read_bytes() == body


def test_resumed_part_of_the_wrong_kind_is_refused(server, tmp_path):
    url = server.add_file("/a.zip", b"<html>" + bytes(5000))
    (tmp_path / "a.zip.part").write_bytes(b"<html>")
    with pytest.raises(WrongContent, match="sent an HTML page"):
        download(url, str(tmp_path / "a.zip"), **FAST)
    assert folder_names(tmp_path) == []


# -- credentials per host ----------------------------------------------------------------------------
def test_cdse_token_is_not_sent_to_a_foreign_host(server, tmp_path, caplog):
    """Before: downloadscenes sent the CDSE bearer token to whatever host the scene layer named."""
    with fault_server() as foreign:
        url = foreign.add_file("/stolen.zip", ZIP + b"data")
        with caplog.at_level(logging.WARNING):
            download(url, str(tmp_path / "x.zip"), headers_provider=token_for(server), **FAST)
        assert [r.authorized for r in foreign.log] == [False]
    assert server.password_grants == 0  # not even a login: no host of the token's scope was asked
    assert f"{url.split('/')[2]} got no credentials (the Copernicus Data Space token)" in caplog.text
    assert "dataspace.copernicus.eu" in caplog.text


def test_plain_headers_provider_goes_only_to_the_url_it_was_given_for(server, tmp_path):
    with fault_server() as foreign:
        target = foreign.add_file("/p.zip", ZIP + b"data")
        server.script("/p.zip", Fault(redirect=target))
        download(f"{server.url}/p.zip", str(tmp_path / "p.zip"), headers_provider=lambda: {"Authorization": "Basic x"},
                 **FAST)
        assert [r.authorized for r in foreign.log] == [False]
    assert server.log[0].authorized and (tmp_path / "p.zip").read_bytes() == ZIP + b"data"


# -- names from catalogues and layers (issue 13: a title of ../../victim wrote two levels up) ----------
@pytest.mark.parametrize("name", ["../../victim", "/etc/victim", "a/../../b", "bad\x00name\n", "x" * 10_000, ".."])
def test_odata_product_names_stay_inside_the_folder(tmp_path, name):
    job = odata_job({"Id": "a1b2", "Name": name}, str(tmp_path / "downloads"))
    target = job.target
    assert os.path.dirname(target) == str(tmp_path / "downloads") and target.endswith(".zip")
    assert len(os.path.basename(target)) <= 150 and "/" not in os.path.basename(target)


def test_odata_product_without_id_or_name_is_a_clear_error(tmp_path):
    with pytest.raises(LabelMigrationError, match="has no Id or no Name"):
        odata_job({"Name": "S2A.SAFE"}, str(tmp_path))
    assert odata_job({"Id": "a/../b", "Name": "S2A"}, str(tmp_path)).url.endswith("Products(a%2F..%2Fb)/$value")


def row(**fields):
    base = {"id": "item1", "title": "S2A_MSIL2A_X.SAFE", "backend": "cdse-odata", "url": "https://h.example/p"}
    return {**base, **fields}


def test_scene_jobs_name_products_and_assets_inside_the_folder(tmp_path):
    folder = str(tmp_path / "dl")
    warnings = []
    jobs = scene_jobs([row(), row(id="i2", title="../../../victim", url="https://h.example/q")], folder,
                      warn=warnings.append)
    assert [j.target for j in jobs] == [f"{folder}/S2A_MSIL2A_X.zip", f"{folder}/victim.zip"]
    assert len(warnings) == 1 and "'../../../victim' is not a safe file name" in warnings[0]
    assets = json.dumps({"blue": "https://h.example/B02.tif?sig=1", "../red": "https://h.example/x.exe%2F..%2F"})
    jobs = scene_jobs([row(id="/abs/item", assets=assets)], folder, ["blue", "../red"], warn=warnings.append)
    assert [os.path.basename(j.target) for j in jobs] == ["blue.tif", "red"]  # the odd extension is dropped
    assert all(os.path.dirname(os.path.dirname(j.target)) == folder for j in jobs)
    assert len(warnings) == 3  # the id and the asset name
    assert not (tmp_path / "dl").exists()  # planning creates nothing


def test_scene_jobs_deduplicate_and_refuse_collisions(tmp_path):
    same = scene_jobs([row(), row(label="other label")], str(tmp_path))  # one scene matched for two labels
    assert len(same) == 1
    with pytest.raises(LabelMigrationError, match="Two scenes would be saved as the same file"):
        scene_jobs([row(), row(url="https://other.example/p")], str(tmp_path))


def test_scene_target_that_is_an_input_is_refused(tmp_path):
    scenes = tmp_path / "item1" / "blue.gpkg"
    scenes.parent.mkdir()
    scenes.write_bytes(b"layer")
    assets = json.dumps({"blue": "https://h.example/blue.gpkg"})
    with pytest.raises(LabelMigrationError, match=r"download 'blue.gpkg' .* would overwrite the input SCENES"):
        scene_jobs([row(assets=assets)], str(tmp_path), ["blue"], inputs=[("SCENES", str(scenes))])


@pytest.mark.parametrize("fields, message", [
    ({"checksums": '{"MD5": "abc"'}, r"The checksums field of the scene 'S2A_MSIL2A_X.SAFE' is not valid JSON"),
    ({"checksums": '["MD5"]'}, r"checksums field of the scene .* is not a JSON object of texts"),
    ({"checksums": "[" * 100_000}, r"checksums field of the scene .* is (not valid JSON|nested too deeply)"),
    ({"size": "twelve"}, r"has a size that is not a number of bytes"),
    ({"size": -5}, r"has a size that is not a number of bytes"),
    ({"url": "s3://eodata/x.zip"}, r"has a url that is a s3:// address"),
    ({"url": "file:///etc/passwd"}, r"has a url that is a file:// address"),
    ({"url": "no/such/file.zip"}, r"neither a web address nor a file on disk"),
    ({"title": None, "id": None}, r"neither a title nor an id"),
])
def test_malformed_scene_rows_are_named(tmp_path, fields, message):
    with pytest.raises(LabelMigrationError, match=message):
        scene_jobs([row(**fields)], str(tmp_path))


def test_malformed_assets_field_is_named(tmp_path):
    with pytest.raises(LabelMigrationError,
                       match=r"The assets field of the scene 'S2A_MSIL2A_X.SAFE' is not valid JSON"):
        scene_jobs([row(assets="{blue: x}")], str(tmp_path), ["blue"])


def test_scene_credentials_choose_token_or_basic_and_their_hosts(server):
    from labelmigration.core.net.scene_downloads import SceneCredentials

    credentials = SceneCredentials(("alice", "secret"), token_url=server.url + "/token",
                                   allowed_urls=["https://hub.example.org/dhus", None], warn=lambda _text: None)
    cdse, other = credentials(row()), credentials(row(backend="stac"))
    assert cdse.scope.allows("https://download.dataspace.copernicus.eu/x") and cdse.scope.allows(server.url + "/p")
    assert other.headers_for("https://hub.example.org/dhus/x")["Authorization"].startswith("Basic ")
    assert other.headers_for("https://download.dataspace.copernicus.eu/x") == {}
    assert cdse.headers_for("https://elsewhere.example/x") == {} and server.password_grants == 0
