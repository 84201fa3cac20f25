"""migratelabels through processing.run with BACKEND 0 (Copernicus Data Space OData) against loopback
stand-ins: the catalogue on tests/support/replay_server.py, the Bearer-protected product and the OAuth
/token endpoint on tests/support/fault_server.py, reached only through DOWNLOAD_URL and TOKEN_URL.

The catalogue answer is built from a real small L2A SAFE zip (tests/support/safe_products.py): its Id,
Name, ContentLength, MD5, footprint and dates match the bytes that are served; it names no download
host, so the product can only be fetched from DOWNLOAD_URL. The credentials come from a QGIS
authentication configuration (AUTHCFG). Every socket the run opens is checked to be a loopback one.
"""
import csv
import datetime as dt
import socket

import numpy as np
import pytest

from labelmigration.tests.support.catalogue_answers import Served, odata_product
from labelmigration.tests.support.fault_server import fault_server
from labelmigration.tests.support.qgis_auth import auth_config
from labelmigration.tests.support.rasters import from_origin, write_raster
from labelmigration.tests.support.replay_server import replay_server
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.qgis

SIZE = 180  # 1800 m tiles
ULX, ULY = 699960.0, 5400000.0
EPSG = 32632
SCL_BLOCK_W, SCL_BLOCK_H = 140.0, 100.0  # the generator's SCL: one class per block of 7 x 5 pixels of 20 m
CLEAR_BLOCK = (10, 5)  # SCL class 5 (clear) in the seed-0 product
USER, PASSWORD = "alice", "s3cret-pw"
LABEL = "field_20200815"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


# -- the product, the label and the catalogue answer ------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    product = make_safe_product(tmp_path_factory.mktemp("products"), "L2A", size_10m=SIZE,
                                sensing=dt.datetime(2020, 8, 18, 10, 25, 59), cloud_cover=20.0, seed=0, zipped=True)
    return Served(product)


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    """A folder with one 12 x 8 label of 10 m pixels (classes 1 and 2) inside a clear SCL block."""
    folder = tmp_path_factory.mktemp("labels")
    x0, y0 = ULX + CLEAR_BLOCK[1] * SCL_BLOCK_W, ULY - CLEAR_BLOCK[0] * SCL_BLOCK_H
    array = np.ones((8, 12), dtype=np.uint8)
    array[:, 6:] = 2
    write_raster(folder / f"{LABEL}.tif", array, crs=f"EPSG:{EPSG}", transform=from_origin(x0 + 10, y0 - 10, 10, 10))
    return folder


# -- QGIS authentication and the network guard ------------------------------------------------------

@pytest.fixture
def outside(monkeypatch):
    """The non-loopback hosts Python tried to resolve or connect to; such connections are refused
    (nothing outside is reachable here anyway: this makes an attempt show, and fail at once)."""
    attempts = []
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in LOOPBACK and sock.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(host)
            raise ConnectionRefusedError(f"test: no connection to {host} (loopback only)")
        return connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK:
            attempts.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"test: no lookup of {name} (loopback only)")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts


def read_matches(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["label"]: row for row in csv.DictReader(handle)}


# -- the test -----------------------------------------------------------------------------------------

def test_odata_download_goes_to_download_url_with_a_token_from_token_url(run, served, labels, outside, tmp_path):
    from labelmigration.core.migration.pair import verify_pair

    with replay_server() as catalogue, fault_server(user=USER, password=PASSWORD) as files:
        catalogue.add_json("/odata/v1/Products", {"value": [odata_product(served)]})
        files.add_file(served.odata_path, served.data, protected=True)  # needs a Bearer token of /token
        parameters = {"LABELS": str(labels), "BACKEND": 0, "URL": catalogue.url + "/odata/v1",
                      "DOWNLOAD_URL": files.url + "/odata/v1", "TOKEN_URL": files.url + "/token",
                      "AUTHCFG": auth_config(USER, PASSWORD), "DAYS_BEFORE": 5, "DAYS_AFTER": 5, "PRODUCT": 1,
                      "CLOUD_MASKS": False, "WORKERS": 1}
        out = tmp_path / "out"
        result = run("migratelabels", {**parameters, "OUTPUT_FOLDER": str(out)})
        log = list(files.log)

        # the same run with a token endpoint that is not one (a wrong path on the same loopback
        # server, so that it is answered at once): the label fails and the reason names TOKEN_URL
        wrong_token_url = files.url + "/wrong/token"
        from qgis.core import QgsProcessingException
        with pytest.raises(QgsProcessingException, match="No label was migrated: 1 label failed") as failed:
            run("migratelabels", {**parameters, "TOKEN_URL": wrong_token_url,
                                  "OUTPUT_FOLDER": str(tmp_path / "wrong-token")})
        wrong_log = files.log[len(log):]
        searches = list(catalogue.requests)

    assert (result["PAIRS"], result["FAILED"]) == (1, 0)
    row = read_matches(result["MATCHES"])[LABEL]
    assert (row["status"], row["scene"], row["reason"]) == ("done", served.name, ""), row
    image, label = out / "images" / f"{LABEL}.tif", out / "labels" / f"{LABEL}.tif"
    assert image.is_file() and label.is_file() and verify_pair(str(image), str(label)) is None
    # the product came whole and verified from DOWNLOAD_URL (the catalogue answer names no host)
    download = out / "downloads" / f"{served.name}.zip"
    assert download.read_bytes() == served.data
    assert [p.name for p in (out / "downloads").iterdir()] == [download.name]
    # one password grant at TOKEN_URL, then the product GET with its Bearer token (the file answers
    # 401 without a valid one): the fault server's log is exactly these requests
    assert [(r.method, r.path, r.status) for r in log] == [("POST", "/token", 200), ("GET", served.odata_path, 200)]
    assert log[1].authorized and files.password_grants == 1

    failed_matches = tmp_path / "wrong-token" / "matches.csv"  # no pair: the run fails, naming the table
    assert str(failed_matches) in str(failed.value)
    reason = read_matches(str(failed_matches))[LABEL]["reason"]
    assert read_matches(str(failed_matches))[LABEL]["status"] == "failed"
    assert wrong_token_url in reason and "404" in reason, reason
    assert PASSWORD not in reason
    assert [(r.method, r.path) for r in wrong_log] == [("POST", "/wrong/token")]  # no product GET without a token
    assert not (tmp_path / "wrong-token" / "downloads" / f"{served.name}.zip").exists()

    # all other traffic went to the loopback catalogue (URL): nothing tried to reach another host
    assert searches and {r.path for r in searches} == {"/odata/v1/Products"}
    assert outside == []


def test_download_and_token_urls_are_optional_advanced_parameters(provider):
    from qgis.core import QgsProcessingParameterDefinition

    algorithm = provider.algorithm("migratelabels")
    names = [parameter.name() for parameter in algorithm.parameterDefinitions()]
    assert names[names.index("AUTHCFG") + 1:names.index("AUTHCFG") + 3] == ["DOWNLOAD_URL", "TOKEN_URL"]
    for name in ("DOWNLOAD_URL", "TOKEN_URL"):
        flags = algorithm.parameterDefinition(name).flags()
        assert flags & QgsProcessingParameterDefinition.FlagAdvanced
        assert flags & QgsProcessingParameterDefinition.FlagOptional
        assert f"({name})" in algorithm.shortHelpString()
