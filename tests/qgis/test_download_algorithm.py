"""downloadscenes through processing.run, against the loopback fault server (CDSE-style token auth)."""
import hashlib
import json
import os

import pytest

from labelmigration.tests.support.fault_server import Fault, fault_server
from labelmigration.tests.support.qgis_auth import auth_config

pytestmark = pytest.mark.qgis
ZIP, TIFF = b"PK\x03\x04", b"II*\x00"  # downloads must start like their kind (core.net.content_checks.SIGNATURES)


def scene_layer(rows):
    """A layer with searchscenes' fields (the algorithm's own field list) and the given scenes."""
    from qgis.core import QgsFeature, QgsVectorLayer

    from labelmigration.processing.search_scenes import SCENE_FIELDS

    layer = QgsVectorLayer("MultiPolygon?crs=EPSG:4326", "scenes", "memory")
    layer.dataProvider().addAttributes(SCENE_FIELDS.toList())
    layer.updateFields()
    features = []
    for row in rows:
        feature = QgsFeature(layer.fields())
        for name, value in row.items():
            feature[name] = value
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def test_products_survive_faults_and_offline_is_reported(run, tmp_path):
    first, second = ZIP + os.urandom(700_000), ZIP + os.urandom(300_000)
    with fault_server() as server:
        url_1 = server.add_file("/odata/v1/Products(a)/$value", first, protected=True)
        url_2 = server.add_file("/odata/v1/Products(b)/$value", second, protected=True)
        server.script("/odata/v1/Products(a)/$value", Fault(cut_after=250_000), Fault(status=503, retry_after="1"))
        url_3 = server.add_file("/odata/v1/Products(c)/$value", ZIP, protected=True)
        server.script("/odata/v1/Products(c)/$value", Fault(status=202))
        layer = scene_layer([
            {"id": "a", "title": "S2A_MSIL2A_A.SAFE", "backend": "cdse-odata", "url": url_1, "size": len(first),
             "checksums": json.dumps({"MD5": hashlib.md5(first).hexdigest()})},
            {"id": "b", "title": "S2A_MSIL2A_B.SAFE", "backend": "cdse-odata", "url": url_2, "size": len(second)},
            {"id": "c", "title": "S2A_MSIL2A_C.SAFE", "backend": "cdse-odata", "url": url_3},
        ])
        result = run("downloadscenes", {"SCENES": layer, "FOLDER": str(tmp_path),
                                        "AUTHCFG": auth_config(server.user, server.password),
                                        "TOKEN_URL": server.url + "/token"})
        assert server.password_grants == 1
    assert (tmp_path / "S2A_MSIL2A_A.zip").read_bytes() == first
    assert (tmp_path / "S2A_MSIL2A_B.zip").read_bytes() == second
    assert not (tmp_path / "S2A_MSIL2A_C.zip").exists() and result["OFFLINE"] == url_3
    assert result["COUNT"] == 2
    assert not list(tmp_path.glob("*.part"))


def test_assets_and_clear_errors(run, tmp_path):
    from qgis.core import QgsProcessingException

    blue = TIFF + os.urandom(50_000)
    with fault_server() as server:
        href = server.add_file("/assets/item1/blue.tif", blue)
        layer = scene_layer([{"id": "item1", "title": "item1", "backend": "stac",
                              "assets": json.dumps({"blue": href})}])
        run("downloadscenes", {"SCENES": layer, "FOLDER": str(tmp_path), "ASSETS": "blue"})
        assert (tmp_path / "item1" / "blue.tif").read_bytes() == blue
        with pytest.raises(QgsProcessingException, match="has no asset nir"):
            run("downloadscenes", {"SCENES": layer, "FOLDER": str(tmp_path), "ASSETS": "blue,nir"})
        with pytest.raises(QgsProcessingException, match="no whole-product download"):
            run("downloadscenes", {"SCENES": layer, "FOLDER": str(tmp_path)})
        protected = server.add_file("/odata/v1/Products(z)/$value", ZIP + b"data", protected=True)
        wrong = scene_layer([{"id": "z", "title": "Z.SAFE", "backend": "cdse-odata", "url": protected}])
        with pytest.raises(QgsProcessingException) as error:
            run("downloadscenes", {"SCENES": wrong, "FOLDER": str(tmp_path),
                                   "AUTHCFG": auth_config(server.user, "wrong-password-123"),
                                   "TOKEN_URL": server.url + "/token"})
        assert "401" in str(error.value) and "wrong-password-123" not in str(error.value)


def test_basic_credentials_go_to_the_configured_server_only(run, tmp_path, foreign_host):
    """Issue 13: the Basic user and password went to whatever host a row's url named."""
    import processing
    from qgis.core import QgsProcessingFeedback

    class Feedback(QgsProcessingFeedback):
        warnings = []

        def pushWarning(self, text):  # noqa: N802
            self.warnings.append(text)

    with fault_server() as hub:
        mine = hub.add_file("/dhus/p1.zip", ZIP + b"one")
        layer = scene_layer([
            {"id": "1", "title": "S2A_ONE", "backend": "dhus", "url": mine},
            {"id": "2", "title": "S2A_TWO", "backend": "dhus", "url": foreign_host.url + "/p2.zip"}])
        feedback = Feedback()
        result = processing.run("labelmigration:downloadscenes", {
            "SCENES": layer, "FOLDER": str(tmp_path), "AUTHCFG": auth_config("alice", "secret", hub.url + "/dhus")},
            feedback=feedback)
        assert [r.authorization for r in hub.log] == ["Basic YWxpY2U6c2VjcmV0"]
    assert foreign_host.authorizations == [] and result["COUNT"] == 2
    host = foreign_host.url.split("/")[2]
    expected = f"{host} got no credentials (the user name and password)"
    assert any(expected in warning for warning in feedback.warnings), feedback.warnings


def test_url_parameter_names_the_accounts_server(run, tmp_path):
    with fault_server() as hub:
        url = hub.add_file("/p.zip", ZIP + b"x")
        layer = scene_layer([{"id": "1", "title": "S2A_ONE", "backend": "dhus", "url": url}])
        run("downloadscenes", {"SCENES": layer, "FOLDER": str(tmp_path / "a"), "AUTHCFG": auth_config("bob", "pw")})
        run("downloadscenes", {"SCENES": layer, "FOLDER": str(tmp_path / "b"), "AUTHCFG": auth_config("bob", "pw"),
                               "URL": hub.url})
        assert [r.authorized for r in hub.log] == [False, True]


def test_nothing_to_download_creates_no_folder(run, tmp_path):
    from qgis.core import QgsProcessingException

    layer = scene_layer([{"id": "1", "title": "S2A_ONE", "backend": "stac", "url": "",
                          "checksums": '{"MD5": '}])
    with pytest.raises(QgsProcessingException, match="no whole-product download"):
        run("downloadscenes", {"SCENES": layer, "FOLDER": str(tmp_path / "new")})
    assert not (tmp_path / "new").exists()
