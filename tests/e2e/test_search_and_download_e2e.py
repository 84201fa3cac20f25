"""searchscenes' STAC backend against the real STAC API, and downloads of its assets from nginx.

Expected scenes are computed here from the fixture items (shapely), not from the server's answer.
"""
import datetime as dt
import os
from pathlib import Path

import pytest
from shapely.geometry import box, shape

from labelmigration.core.net.download import download
from labelmigration.core.search.base import FootprintQuery
from labelmigration.core.search.matching import search_scenes
from labelmigration.core.search.stac import StacBackend

pytestmark = pytest.mark.e2e
UTC = dt.timezone.utc


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected(items, area, start, end, max_cloud):
    return {item["id"] for item in items
            if shape(item["geometry"]).intersects(area) and start <= parse_time(item["properties"]["datetime"]) <= end
            and item["properties"]["eo:cloud_cover"] <= max_cloud}


@pytest.mark.parametrize("max_cloud", [100.0, 20.0, 1.0])
def test_stac_backend_finds_the_items_computed_from_the_fixtures(stac_api, max_cloud):
    items = stac_api.items_of("sentinel-2-l2a")
    anchor = items[0]
    centre = shape(anchor["geometry"]).centroid
    label = box(centre.x - 0.02, centre.y - 0.02, centre.x + 0.02, centre.y + 0.02)
    label_date = parse_time(anchor["properties"]["datetime"]).date()
    start = dt.datetime(label_date.year, label_date.month, label_date.day, tzinfo=UTC) - dt.timedelta(days=10)
    end = dt.datetime(label_date.year, label_date.month, label_date.day, tzinfo=UTC) + dt.timedelta(days=11)
    want = expected(items, label, start, end, max_cloud)
    backend = StacBackend(stac_api.url)
    matches = search_scenes([FootprintQuery("label", label.wkt, label_date)], backend, max_cloud=max_cloud,
                            product="L2A", collection="sentinel-2-l2a")
    assert {m.scene.id for m in matches} == want
    if max_cloud == 100.0:
        assert want, "the anchor item itself must be found"
    ranks = [m.rank for m in matches]
    assert ranks == list(range(1, len(matches) + 1))
    for match in matches:
        assert match.scene.assets and all(href.startswith("http://127.0.0.1:") for href in match.scene.assets.values())


def test_asset_download_from_nginx_is_byte_identical(stac_api, asset_server, tmp_path):
    item = stac_api.items_of("sentinel-2-l2a")[0]
    href = next(asset["href"] for key, asset in item["assets"].items() if key == "red")
    payload = b"II*\x00" + os.urandom(3 * 1024 * 1024 + 13)  # a TIFF header: downloads check what arrived
    path = Path(asset_server.path_for(href))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    target = tmp_path / "red.tif"
    import hashlib
    result = download(href, str(target), expected_size=len(payload),
                      checksums={"SHA256": hashlib.sha256(payload).hexdigest()})
    assert result.ok and target.read_bytes() == payload
    assert not Path(str(target) + ".part").exists()
    # a second call finds the verified file and downloads nothing
    assert download(href, str(target), expected_size=len(payload)).skipped
