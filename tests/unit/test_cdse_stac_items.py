"""CDSE STAC v1 items as scenes: the item template of tests/data/cdse_stac/ (the real published item of
S2A_MSIL2A_20220217T183431_N0510_R027_T13VEK_20240516T022440, SOURCE.md) mapped to the scene record, its band
assets found by CDSE's keys, and its token-bound HTTPS alternates routed through the asset relay."""
import copy
import json
from pathlib import Path

import pytest

from labelmigration.core.migration.scenes import datatakes
from labelmigration.core.migration.stac_assets import asset_href
from labelmigration.core.net import cdse_assets
from labelmigration.core.search.scene import Match
from labelmigration.core.search.stac import CDSE_STAC, default_collection, item_scene
from labelmigration.core.util.errors import LabelMigrationError

TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "cdse_stac" / "sentinel-2-l2a-item.json"


@pytest.fixture
def item():
    return json.loads(TEMPLATE.read_text())


def test_a_cdse_item_maps_to_its_tile_level_cloud_time_and_product_name(item):
    """Expected: the item's own fields (grid:code MGRS-13VEK, product:type S2MSI2A, eo:cloud_cover 41.21,
    datetime 2022-02-17T18:34:31.024Z) and CDSE's collections named on its catalogue (sentinel-2-l1c/-l2a)."""
    scene = item_scene(item, "stac")
    assert (scene.id, scene.title) == (item["id"], "S2A_MSIL2A_20220217T183431_N0510_R027_T13VEK_20240516T022440")
    assert scene.tile == "13VEK" and scene.product_type == "S2MSI2A" and scene.level == "L2A"
    assert scene.cloud_cover == 41.21
    assert scene.datetime.isoformat() == "2022-02-17T18:34:31.024000+00:00"
    assert default_collection(CDSE_STAC, "L2A") == "sentinel-2-l2a"
    assert default_collection(CDSE_STAC, "L1C") == "sentinel-2-l1c"


def test_a_cdse_item_s_band_assets_are_its_https_alternates_finest_first(item):
    """Expected: each asset's alternate.https.href in place of its s3:// href (the thumbnail, already HTTPS,
    keeps its own); B02 from B02_10m before B02_20m, SCL from SCL_20m (the template's keys and gsd)."""
    scene = item_scene(item, "stac")
    for key in ("B02_10m", "B02_20m", "B03_10m", "B04_10m", "B08_10m", "SCL_20m"):
        assert item["assets"][key]["href"].startswith("s3://eodata/")
        assert scene.assets[key] == item["assets"][key]["alternate"]["https"]["href"]
    assert scene.assets["thumbnail"] == item["assets"]["thumbnail"]["href"]
    assert cdse_assets.band_asset_keys(scene.assets, "B02") == ["B02_10m", "B02_20m"]
    assert cdse_assets.band_asset_keys(scene.assets, "SCL") == ["SCL_20m"]
    assert cdse_assets.band_asset_keys(scene.assets, "B8A") == []
    assert asset_href(scene, "B02") == "/vsicurl/" + item["assets"]["B02_10m"]["alternate"]["https"]["href"]
    assert asset_href(scene, "B05") is None


def test_tiles_of_one_datatake_make_one_candidate(item):
    """Expected: Sentinel-2 product naming (spacecraft, datatake start, relative orbit shared by the tiles of
    one acquisition; the tile and the processing time differ): 13VEK and 13VEL of the template's datatake are
    one candidate, another datatake start is another."""
    other_tile, other_time = copy.deepcopy(item), copy.deepcopy(item)
    other_tile["id"] = item["id"].replace("T13VEK", "T13VEL").replace("20240516T022440", "20240516T022441")
    other_tile["properties"]["datetime"] = "2022-02-17T18:34:35.000000Z"
    other_time["id"] = item["id"].replace("20220217T183431", "20220220T183431")
    scenes = [item_scene(each, "stac") for each in (item, other_tile, other_time)]
    candidates = datatakes([Match("label", None, scene, 0.0, 50.0) for scene in scenes])
    assert sorted(len(candidate.scenes) for candidate in candidates) == [1, 2]


def test_token_bound_assets_go_through_the_relay_and_others_stay_as_they_are(item):
    """Expected: the CDSE hosts (*.dataspace.copernicus.eu) need the token: their assets read through the
    relay on 127.0.0.1 under the file's own name; the thumbnail on datahub.creodias.eu is no CDSE host and
    keeps its URL; without a login the first token-bound asset is named in the error."""
    scene = item_scene(item, "stac")
    with pytest.raises(LabelMigrationError, match=r"needs a Copernicus Data Space login"):
        cdse_assets.token_bound_scenes([scene], "unit", None, None)
    try:
        bound, = cdse_assets.token_bound_scenes([scene], "unit", ("user", "password"), None)
        again, = cdse_assets.token_bound_scenes([scene], "unit", ("user", "password"), None)
        relay = cdse_assets.relay()
        assert bound.assets["B02_10m"].startswith(relay.url + "/")
        assert bound.assets["B02_10m"].endswith("/T13VEK_20220217T183431_B02_10m.jp2")
        assert again.assets == bound.assets  # one relay path per asset and run: GDAL's cache serves every label
        assert bound.assets["thumbnail"] == scene.assets["thumbnail"]
        assert scene.assets["B02_10m"].startswith("https://zipper.dataspace.copernicus.eu/")  # the scene is unchanged
        assert relay.entry(bound.assets["B02_10m"][len(relay.url):])[1] is not None
        assert relay.entry("/" + "0" * 24 + "/T13VEK_20220217T183431_B02_10m.jp2") == (None, None)
    finally:
        cdse_assets.forget_run("unit")
    assert relay.entry(bound.assets["B02_10m"][len(relay.url):]) == (None, None)


def test_a_cdse_stac_search_sends_no_password_to_the_catalogue():
    """CDSE's STAC catalogue is public (its documentation: no authentication for search); the account is for a
    token (assets, downloads) only, so make_backend gives a CDSE STAC backend no credentials, and another STAC API
    still gets the account as HTTP Basic authentication, only for its own host."""
    from labelmigration.core.search import make_backend

    cdse = make_backend("stac", CDSE_STAC, ("user", "s3cret"))
    assert cdse.credentials is None and "s3cret" not in repr(vars(cdse))
    other = make_backend("stac", "https://stac.example.org/v1", ("user", "s3cret"))
    assert other.credentials is not None and other.credentials.scope.allows("https://stac.example.org/v1/search")
