"""qgis_process after `make install`, exactly as a user runs it from the shell.

Debian's /usr/bin/qgis_process wrapper adds --noversioncheck, which 3.22 rejects, so the tests call
qgis_process.bin like the README does. HOME points at a temporary folder so the user's real QGIS
profile is never touched.
"""
import datetime as dt
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import rasterio

from labelmigration.tests.support.environment import user_environment
from labelmigration.tests.support.rasters import from_origin, origin_in, write_png, write_raster
from labelmigration.tests.support.safe_products import make_safe_product

pytestmark = pytest.mark.cli
QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"


@pytest.fixture(scope="module")
def home(tmp_path_factory, repo_root):
    if not os.path.exists(QGIS_PROCESS):
        pytest.skip("qgis_process.bin is not installed (make setup installs QGIS)")
    home = tmp_path_factory.mktemp("home")
    result = subprocess.run(["make", "-C", str(repo_root), "install"], env=user_environment(HOME=str(home)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    link = home / ".local/share/QGIS/QGIS3/profiles/default/python/plugins/labelmigration"
    assert link.is_symlink() and link.resolve() == repo_root
    return home


def qgis_process(home, *arguments, check=True):
    environment = user_environment(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([QGIS_PROCESS, *arguments], env=environment, capture_output=True, text=True, timeout=180)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_list_shows_the_algorithms(home):
    listing = qgis_process(home, "list").stdout
    section = listing.split("Label Migration", 1)[1]
    for algorithm in ("geocodemask", "maskfootprint", "cropscene", "stackbands", "safetogeotiff", "searchscenes",
                      "downloadscenes", "evaluatesegmentation", "cloudmask", "segment", "rasterizelabels",
                      "migratelabels"):
        assert f"labelmigration:{algorithm}" in section


def test_help_documents_parameters(home):
    text = qgis_process(home, "help", "labelmigration:cropscene").stdout
    for name in ("SCENE", "LABEL", "BANDS", "OUTPUT_IMAGE", "OUTPUT_LABEL", "COVERED_PERCENT"):
        assert name in text


def test_geocode_footprint_and_crop_from_the_shell(home, tmp_path):
    rows, cols = np.mgrid[0:200, 0:200]
    scene = write_raster(tmp_path / "scene.tif", np.stack([rows + cols + 1] * 3).astype(np.uint16), "EPSG:32632",
                         from_origin(690_000, 5_340_000, 10, 10), nodata=0, descriptions=("B02", "B03", "B04"))
    x, y = origin_in("EPSG:32632", "EPSG:3035", 690_400, 5_339_400)
    reference = write_raster(tmp_path / "ref.tif", np.full((100, 100), 9, np.uint8), "EPSG:3035",
                             from_origin(x, y, 5, 5))
    label = np.zeros((100, 100), np.uint8)
    label[20:80, 20:80] = 1
    png = write_png(tmp_path / "mask_2020-08-12.png", label)

    geocoded = tmp_path / "mask.tif"
    qgis_process(home, "run", "labelmigration:geocodemask", "--", f"INPUT={png}", f"REFERENCE={reference}",
                 f"OUTPUT={geocoded}")
    footprints = tmp_path / "footprints.geojson"
    qgis_process(home, "run", "labelmigration:maskfootprint", "--", f"INPUT={geocoded}", f"OUTPUT={footprints}")
    feature = json.loads(footprints.read_text())["features"][0]
    assert feature["properties"]["label"] == "mask"
    assert feature["properties"]["area_m2"] == pytest.approx(100 * 100 * 25, rel=1e-4)
    assert feature["properties"]["date"] == "2020-08-12"

    result = qgis_process(home, "--json", "run", "labelmigration:cropscene", "--", f"SCENE={scene}",
                          f"LABEL={geocoded}", f"OUTPUT_IMAGE={tmp_path / 'image.tif'}",
                          f"OUTPUT_LABEL={tmp_path / 'label.tif'}")
    outputs = json.loads(result.stdout)["results"]
    assert outputs["COVERED_PERCENT"] == pytest.approx(100.0)
    with rasterio.open(outputs["OUTPUT_IMAGE"]) as image, rasterio.open(outputs["OUTPUT_LABEL"]) as pair:
        assert (image.transform, image.crs, image.shape) == (pair.transform, pair.crs, pair.shape)
        assert image.crs.to_epsg() == 32632 and image.transform.a == 10


def test_bad_input_gives_a_clear_message_and_nonzero_exit(home, tmp_path):
    plain = write_raster(tmp_path / "plain.tif", np.ones((10, 10), np.uint8))
    label = write_png(tmp_path / "mask.png", np.ones((10, 10), np.uint8))
    result = qgis_process(home, "run", "labelmigration:geocodemask", "--", f"INPUT={label}",
                          f"REFERENCE={plain}", f"OUTPUT={tmp_path / 'out.tif'}", check=False)
    assert result.returncode != 0
    assert "plain.tif' is not georeferenced" in result.stdout + result.stderr
    assert not (tmp_path / "out.tif").exists()


def test_readme_examples_run(home, repo_root, tmp_path):
    """Every shell example under README's 'Algorithms' runs as written (with /tmp moved to a test folder)."""
    readme = (repo_root / "README.md").read_text()
    section = readme.split("## Algorithms", 1)[1].split("### From Python", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```sh\n")[1:]]
    offline = [block for block in blocks if not block.startswith("# needs ")]  # the network, a model
    assert len(blocks) == 15 and len(offline) == 11
    blocks = offline
    script = "set -euo pipefail\n" + "\n".join(blocks).replace("/tmp/", f"{tmp_path}/")
    result = subprocess.run(["bash", "-c", script], cwd=repo_root, capture_output=True, text=True, timeout=300,
                            env=user_environment(HOME=str(home)))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("label_geocoded.tif", "footprints.gpkg", "pair_image.tif", "pair_label.tif", "true_colour.tif",
                 "T32UPU_reflectance.tif", "pair_from_safe_image.tif", "pair_from_safe_label.tif", "scenes.gpkg",
                 "matches.csv", "confusion.csv", "footprint_label.tif"):
        assert (tmp_path / name).exists(), name
    with rasterio.open(tmp_path / "true_colour.tif") as stacked:
        assert stacked.descriptions == ("B04", "B03", "B02")
    with rasterio.open(tmp_path / "pair_from_safe_image.tif") as image, \
            rasterio.open(tmp_path / "pair_from_safe_label.tif") as label:
        assert image.descriptions == ("B02", "B03", "B04", "B08", "B11")
        assert (image.transform, image.shape) == (label.transform, label.shape)
        assert (image.read(1) != 0).any()
    migrated = (tmp_path / "migrated" / "matches.csv").read_text().splitlines()
    assert len(migrated) == 8 and (tmp_path / "migrated" / "report.html").exists()  # 7 demo labels
    assert (tmp_path / "dataset" / "catalog.json").is_file() and (tmp_path / "dataset" / "chips.gpkg").is_file()
    rows = (tmp_path / "matches.csv").read_text().splitlines()
    assert len(rows) == 2 and "S2B_MSIL2A_20200815T102559" in rows[1] and rows[1].startswith("label_geocoded,")


def _footprint_file(path, x0, y0):
    """A GeoPackage with one 1 km square label in UTM 32N."""
    from osgeo import ogr, osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32632)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = source.CreateLayer("footprints", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("label", ogr.OFTString))
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField("label", "label_0")
    feature.SetGeometry(ogr.CreateGeometryFromWkt(
        f"POLYGON(({x0} {y0},{x0 + 1000} {y0},{x0 + 1000} {y0 + 1000},{x0} {y0 + 1000},{x0} {y0}))"))
    layer.CreateFeature(feature)
    source = None
    return path


def test_backend_by_name_from_the_shell(home, tmp_path):
    """BACKEND=local means BACKEND=3 (the numbers stay for saved models and scripts); an unknown name is refused
    with the list of names."""
    archive = tmp_path / "archive"
    archive.mkdir()
    product = make_safe_product(archive, "L2A", size_10m=546, sensing=dt.datetime(2020, 8, 14, 10, 25, 59),
                                cloud_cover=0.5)
    footprints = _footprint_file(tmp_path / "footprints.gpkg", 699960.0 + 1000, 5400000.0 - 3000)
    tables = {}
    for backend in ("local", "3"):
        table = tmp_path / f"matches_{backend}.csv"
        qgis_process(home, "run", "labelmigration:searchscenes", "--", f"FOOTPRINTS={footprints}", "DATE=2020-08-15",
                     f"BACKEND={backend}", f"URL={archive}", f"OUTPUT={tmp_path / f'scenes_{backend}.gpkg'}",
                     f"OUTPUT_TABLE={table}")
        tables[backend] = table.read_text()
    assert product.name in tables["local"] and tables["local"] == tables["3"]

    result = qgis_process(home, "run", "labelmigration:searchscenes", "--", f"FOOTPRINTS={footprints}",
                          "DATE=2020-08-15", "BACKEND=mars", f"URL={archive}", f"OUTPUT={tmp_path / 'mars.gpkg'}",
                          check=False)
    assert result.returncode != 0
    assert ("Unknown value 'mars' for BACKEND: give one of the names cdse-odata, stac, dhus, local or their numbers "
            "0 to 3") in result.stdout + result.stderr
    assert not (tmp_path / "mars.gpkg").exists()


@pytest.mark.parametrize("prefix", ["", "gdal://"])
def test_cloudmask_takes_a_sentinel2_subdataset_as_qgis_does(home, tmp_path, prefix):
    """INPUT as GDAL names a SAFE product's 10 m bands (SENTINEL2_L2A:<MTD>:10m:EPSG_32632), bare or in QGIS's
    provider form. Where QGIS's own native:rasterlayerstatistics takes that string (3.40 and 3.44 do), cloudmask takes
    it too and reads the baseline 05.09 product with its offset; where QGIS loads neither form (3.22), cloudmask says
    so and what to do. Before, 3.22's message called the existing product a missing file."""
    product = make_safe_product(tmp_path / "product", level="L2A", baseline="05.09", size_10m=60)
    source = f"{prefix}SENTINEL2_L2A:{product.mtd_path}:10m:EPSG_32632"
    qgis = qgis_process(home, "run", "native:rasterlayerstatistics", "--", f"INPUT={source}", "BAND=1", check=False)
    run = qgis_process(home, "--json", "run", "labelmigration:cloudmask", "--", f"INPUT={source}",
                       f"OUTPUT={tmp_path / 'mask.tif'}", check=qgis.returncode == 0)
    if qgis.returncode != 0:
        said = run.stdout + run.stderr
        assert run.returncode != 0 and "does not load" in said and "does not exist" not in said, said[-2000:]
        assert not (tmp_path / "mask.tif").exists()
        return
    log = json.dumps(json.loads(run.stdout))
    assert "Sentinel-2 product" in log and "baseline 05.09" in log
    with rasterio.open(tmp_path / "mask.tif") as mask:
        assert mask.shape == (60, 60)
