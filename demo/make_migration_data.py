#!/usr/bin/env python3
"""The demo's label set (bundled) and its local archive of Sentinel-2 products (made by `make demo`).

    .venv/bin/python demo/make_migration_data.py labels [FOLDER]   # default demo/data/labels (committed)
    .venv/bin/python demo/make_migration_data.py archive FOLDER    # what run_demo.py makes in demo-output/archive

Both sample the landscape of demo/make_sample_data.py (fields, river, lake, village near Munich,
UTM 32N), so labels and images show the same features. The archive holds two datatakes of two
neighbouring tiles each (4 small L2A products, 2.4 km x 2.4 km, zipped SAFE, made with the test
suite's generator, tests/support/safe_products.py), with band values from the landscape's
reflectance and clouds drawn into the bands and the SCL:

* 2020-08-13 (S2A): one cloud (and its shadow) right over the label 'fields_north_20200814';
  little cloud elsewhere, so its scene cloud cover is the lower one;
* 2020-08-18 (S2B): two clouds away from every label; the higher scene cloud cover.

So migratelabels must choose 2020-08-18 for 'fields_north' although 2020-08-13 is closer and less
cloudy as a whole: the choice rests on the cloud over the label itself. 'river_20200817' straddles
the two tiles (mosaicked); 'village_20200903' has no scene within 10 days (reported, not migrated).

Two labels for the quality checks (issue 19):

* '20200811_planet_fields_label.png' is drawn on '20200811_planet_fields_visual.tif', a Planet-like
  image georeferenced SHIFT_M (20 m east, 10 m north) away from Sentinel-2: both show at p what lies
  at p - SHIFT_M. migratelabels measures that shift against the Sentinel-2 pixels and, with
  COREGISTER=1, moves the label back onto them.
* 'harvested_20200810.tif' labels maize that was harvested before the Sentinel-2 scenes: in the
  archive the maize inside CHANGE_AREA (about a third of it) is stubble (both dates), so the pair's
  change score stands out.

Everything is deterministic. The labels are small and committed (a fresh clone needs no generator
run); the archive (about 2 MB of JPEG2000) takes about two seconds and is not committed.
"""
import argparse
import math
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from osgeo import gdal

DEMO = Path(__file__).resolve().parent
REPO_ROOT = DEMO.parent
sys.path.insert(0, str(DEMO))
import make_sample_data as landscape_module  # noqa: E402  (beside this file, not a package)

# Tiles: the second lies 1.8 km east of the first (600 m overlap), as neighbouring MGRS tiles do.
TILE_SIZE = 240  # 10 m pixels (a multiple of 6)
TILES = (("32UPU", 690000.0), ("32UQU", 691800.0))
TILE_ULY = 5339400.0
GRID_X0, GRID_Y0 = 690000.0, TILE_ULY  # the 10 m grid sampled once for both tiles
GRID_COLS, GRID_ROWS = 420, 240
BASELINE = "05.09"
BOA_OFFSET = 1000  # DN = reflectance * 10000 + 1000 from processing baseline 04.00 on

# (x, y) centre, (rx, ry) radii in metres: a cloud; its shadow falls 200 m east, 150 m south.
DATATAKES = (
    dict(spacecraft="S2A", sensing=datetime(2020, 8, 13, 10, 20, 31), orbit=65,
         clouds=(((690700.0, 5339000.0), (420.0, 330.0)),)),
    dict(spacecraft="S2B", sensing=datetime(2020, 8, 18, 10, 25, 59), orbit=108,
         clouds=(((692000.0, 5337350.0), (520.0, 420.0)), ((690250.0, 5337600.0), (300.0, 260.0)))),
)
SHADOW_SHIFT = (200.0, -150.0)
CLOUD_REFLECTANCE = np.array([0.42, 0.42, 0.43, 0.46])  # B02 B03 B04 B08

# Labels: name, CRS, pixel size, centre (UTM 32N), size in pixels (cols, rows).
LABEL_RASTERS = (
    ("fields_north_20200814.tif", "EPSG:32632", 5.0, (690700.0, 5339000.0), (100, 80)),
    ("maize_2020-08-16.tif", "EPSG:3035", 4.0, (690900.0, 5337850.0), (90, 75)),
    ("river_20200817.tif", "EPSG:32632", 5.0, (692100.0, 5338600.0), (220, 80)),
    ("village_20200903.tif", "EPSG:32632", 5.0, (690650.0, 5337300.0), (80, 80)),
)
PLANET_LABEL = "20200812_planet_lake_label.png"  # drawn on the reference beside it
PLANET_REFERENCE = "20200812_planet_lake_visual.tif"
PLANET_CENTRE, PLANET_PIXEL, PLANET_SIZE = (691400.0, 5338300.0), 3.0, 180
# The misregistered Planet-like pair: where its georeferencing puts a feature minus where it is (UTM, m)
SHIFTED_LABEL = "20200811_planet_fields_label.png"
SHIFTED_REFERENCE = "20200811_planet_fields_visual.tif"
SHIFTED_CENTRE, SHIFT_M = (693500.0, 5337600.0), (20.0, 10.0)
# The changed label: maize in CHANGE_AREA (x0, y0, x1, y1, UTM) is stubble in the archive's products
CHANGED_LABEL = ("harvested_20200810.tif", "EPSG:32632", 5.0, (693100.0, 5338950.0), (80, 60))
CHANGE_AREA = (692900.0, 5338800.0, 693060.0, 5339100.0)

# SCL classes of the clear land cover
SCL_VEGETATION, SCL_NOT_VEGETATED, SCL_WATER = 4, 5, 6
SCL_SHADOW, SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS = 3, 8, 9, 10


def landscape():
    return landscape_module.Landscape(landscape_module.SEED)


@dataclass(frozen=True)
class _Grid:
    reflectance: np.ndarray  # (4, rows, cols): B02 B03 B04 B08 at 10 m, before clouds
    scl: np.ndarray  # (rows, cols) clear-sky SCL from the land cover


def sample_grid() -> _Grid:
    land = landscape()
    x, y = landscape_module.pixel_centres(GRID_X0, GRID_Y0, 10.0, GRID_COLS, GRID_ROWS, 2)
    reflectance = landscape_module.block_mean(land.reflectance(x, y), 2)
    cx, cy = landscape_module.pixel_centres(GRID_X0, GRID_Y0, 10.0, GRID_COLS, GRID_ROWS, 1)
    cover, _ = land.land_cover(cx, cy)
    scl = np.full(cover.shape, SCL_VEGETATION, np.uint8)
    bare = (landscape_module.STUBBLE, landscape_module.BARE_SOIL, landscape_module.ROAD,
            landscape_module.ROOF_RED, landscape_module.ROOF_GREY)
    scl[np.isin(cover, bare)] = SCL_NOT_VEGETATED
    scl[cover == landscape_module.WATER] = SCL_WATER
    x0, y0, x1, y1 = CHANGE_AREA  # the changed label's maize harvested after it was drawn
    changed = (cover == landscape_module.MAIZE) & (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
    reflectance[:, changed] = np.asarray(landscape_module.REFLECTANCE[landscape_module.STUBBLE])[:, None]
    scl[changed] = SCL_NOT_VEGETATED
    return _Grid(reflectance, scl)


def _opacity(x, y, clouds) -> np.ndarray:
    """0..1 cloud opacity: soft-edged ellipses."""
    out = np.zeros(np.broadcast(x, y).shape)
    for (cx, cy), (rx, ry) in clouds:
        r = np.hypot((x - cx) / rx, (y - cy) / ry)
        out = np.maximum(out, np.clip((1.0 - r) / 0.3, 0.0, 1.0))
    return out


@dataclass(frozen=True)
class DemoField:
    """The generator's value field (see safe_products.ValueField), from the landscape and clouds."""
    grid: _Grid = field(repr=False, compare=False)
    clouds: tuple = ()
    x0: float = GRID_X0
    y0: float = GRID_Y0
    scale_m: float = TILE_SIZE * 10.0
    seed: int = 0
    noise_dn: int = 0

    def _index(self, x, y):
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        col = np.clip(np.floor((x - GRID_X0) / 10.0).astype(np.int64), 0, GRID_COLS - 1)
        row = np.clip(np.floor((GRID_Y0 - y) / 10.0).astype(np.int64), 0, GRID_ROWS - 1)
        return x, y, row, col

    def _four(self, x, y):
        """B02 B03 B04 B08 reflectance with clouds and shadows, (4, ...)."""
        x, y, row, col = self._index(x, y)
        values = self.grid.reflectance[:, row, col]
        shadow = _opacity(x - SHADOW_SHIFT[0], y - SHADOW_SHIFT[1], self.clouds)
        values = values * (1.0 - 0.55 * shadow)
        cloud = _opacity(x, y, self.clouds)
        return values * (1.0 - cloud) + CLOUD_REFLECTANCE.reshape((4,) + (1,) * cloud.ndim) * cloud

    def dn(self, band, x, y, resolution_m=None):
        blue, green, red, nir = self._four(x, y)
        derived = {"B01": blue * 1.05, "B02": blue, "B03": green, "B04": red, "B05": red + 0.25 * (nir - red),
                   "B06": red + 0.65 * (nir - red), "B07": red + 0.85 * (nir - red), "B08": nir,
                   "B8A": nir * 1.02, "B09": nir * 0.35, "B10": 0.004 + 0.0 * nir,
                   "B11": 0.42 * nir + 0.3 * red + 0.02, "B12": 0.22 * nir + 0.35 * red + 0.01}
        return np.clip(derived[band] * 10000.0 + BOA_OFFSET, 1, 65534)

    def scl(self, x, y):
        x, y, row, col = self._index(x, y)
        out = self.grid.scl[row, col].copy()
        shadow = _opacity(x - SHADOW_SHIFT[0], y - SHADOW_SHIFT[1], self.clouds)
        cloud = _opacity(x, y, self.clouds)
        out[shadow > 0.3] = SCL_SHADOW
        out[cloud > 0.02] = SCL_CIRRUS
        out[cloud > 0.15] = SCL_CLOUD_MEDIUM
        out[cloud > 0.6] = SCL_CLOUD_HIGH
        return out

    def cloud_probability(self, x, y):
        lookup = np.zeros(12, dtype=np.uint8)
        lookup[SCL_CLOUD_MEDIUM], lookup[SCL_CLOUD_HIGH], lookup[SCL_CIRRUS] = 60, 95, 25
        return lookup[self.scl(x, y)]

    def snow_probability(self, x, y):
        return np.zeros(np.broadcast(x, y).shape, np.uint8)

    def uv(self, x, y):
        return (np.asarray(x, np.float64) - self.x0) / self.scale_m, (self.y0 - np.asarray(y, np.float64)) / self.scale_m

    def aot(self, x, y):
        u, v = self.uv(x, y)
        return 120.0 + 60.0 * u + 25.0 * v

    def wvp(self, x, y):
        u, v = self.uv(x, y)
        return 1800.0 + 300.0 * u - 200.0 * v


def scene_cloud_percent(values: DemoField, ulx: float) -> float:
    """CLOUDY_PIXEL_PERCENTAGE of a tile, from its own SCL at 20 m (as the L2A processor reports it)."""
    centres = ulx + (np.arange(TILE_SIZE // 2) + 0.5) * 20.0, TILE_ULY - (np.arange(TILE_SIZE // 2) + 0.5) * 20.0
    scl = values.scl(centres[0][np.newaxis, :], centres[1][:, np.newaxis])
    return round(100.0 * float(np.isin(scl, (SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS)).mean()), 2)


def write_archive(folder: Path) -> list:
    """The four products (zipped SAFE) into folder; returns their paths."""
    from labelmigration.tests.support.safe_products import make_safe_product  # the caller imported the plugin

    folder.mkdir(parents=True, exist_ok=True)
    grid = sample_grid()
    paths = []
    for take in DATATAKES:
        values = DemoField(grid, take["clouds"])
        for tile, ulx in TILES:
            product = make_safe_product(
                folder, "L2A", BASELINE, tile=tile, ulx=ulx, uly=TILE_ULY, size_10m=TILE_SIZE,
                sensing=take["sensing"], relative_orbit=take["orbit"], spacecraft=take["spacecraft"],
                cloud_cover=scene_cloud_percent(values, ulx), zipped=True, nodata_corner=False, values=values)
            paths.append(product.path)
    return paths


# -- labels ------------------------------------------------------------------------------------------

def _label_classes(land, x, y) -> np.ndarray:
    cover, _ = land.land_cover(x, y)
    label = np.zeros(cover.shape, np.uint8)
    for cover_class, label_class in landscape_module.LABEL_CLASSES.items():
        label[cover == cover_class] = label_class
    return label


def _utm(crs, x, y):
    if crs == landscape_module.SCENE_CRS:
        return x, y
    xs, ys = landscape_module.transform_points(crs, landscape_module.SCENE_CRS, x.ravel(), y.ravel())
    return np.asarray(xs).reshape(x.shape), np.asarray(ys).reshape(y.shape)


def _origin(crs, centre, pixel, cols, rows):
    cx, cy = centre
    if crs != landscape_module.SCENE_CRS:
        (cx,), (cy,) = landscape_module.transform_points(landscape_module.SCENE_CRS, crs, [cx], [cy])
    return (math.floor((cx - cols * pixel / 2) / pixel) * pixel, math.ceil((cy + rows * pixel / 2) / pixel) * pixel)


def _create(path, crs, x0, y0, pixel, array, options=("COMPRESS=DEFLATE", "PREDICTOR=2", "ZLEVEL=9")):
    bands = 1 if array.ndim == 2 else array.shape[0]
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[-1], array.shape[-2], bands, gdal.GDT_Byte,
                                                   list(options))
    dataset.SetGeoTransform([x0, pixel, 0.0, y0, 0.0, -pixel])
    dataset.SetProjection(landscape_module.srs_wkt(crs))
    dataset.SetMetadata({"SYNTHETIC": "yes: generated by demo/make_migration_data.py"})
    for index in range(bands):
        dataset.GetRasterBand(index + 1).WriteArray(array if bands == 1 else array[index])
    return dataset


def write_labels(folder: Path) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    land = landscape()
    written = []
    for name, crs, pixel, centre, (cols, rows) in LABEL_RASTERS + (CHANGED_LABEL,):
        x0, y0 = _origin(crs, centre, pixel, cols, rows)
        x, y = landscape_module.pixel_centres(x0, y0, pixel, cols, rows, 1)
        _create(folder / name, crs, x0, y0, pixel, _label_classes(land, *_utm(crs, x, y)))
        written.append(folder / name)

    # PlanetScope-like references (EPSG:3035, 3 m, RGB) and the plain PNG labels drawn on them: one
    # georeferenced right, one SHIFT_M away from Sentinel-2
    pairs = ((PLANET_REFERENCE, PLANET_LABEL, PLANET_CENTRE, (0.0, 0.0), "2020:08:12 10:15:12"),
             (SHIFTED_REFERENCE, SHIFTED_LABEL, SHIFTED_CENTRE, SHIFT_M, "2020:08:11 10:12:40"))
    for reference_name, label_name, centre, shift, taken in pairs:
        _write_planet_pair(folder, land, reference_name, label_name, centre, shift, taken)
        written += [folder / reference_name, folder / label_name]
    for path in folder.glob("*.aux.xml"):
        path.unlink()
    return written


def _write_planet_pair(folder: Path, land, reference_name: str, label_name: str, centre, shift, taken: str) -> None:
    """A Planet-like RGB reference and the PNG label drawn on it; both show at (UTM) p what lies at p - shift."""
    crs = landscape_module.REFERENCE_CRS

    def ground(x, y):
        ux, uy = _utm(crs, x, y)
        return ux - shift[0], uy - shift[1]

    x0, y0 = _origin(crs, centre, PLANET_PIXEL, PLANET_SIZE, PLANET_SIZE)
    x, y = landscape_module.pixel_centres(x0, y0, PLANET_PIXEL, PLANET_SIZE, PLANET_SIZE, 2)
    reflectance = landscape_module.block_mean(land.reflectance(*ground(x, y)), 2)
    rgb = np.clip(landscape_module.to_visual(reflectance), 1, 255).astype(np.uint8)
    reference = _create(folder / reference_name, crs, x0, y0, PLANET_PIXEL, rgb,
                        ("COMPRESS=DEFLATE", "PREDICTOR=2", "ZLEVEL=9", "PHOTOMETRIC=RGB"))
    reference.SetMetadata({"TIFFTAG_DATETIME": taken, "SYNTHETIC": "yes: generated by demo/make_migration_data.py"})
    reference = None
    cx, cy = landscape_module.pixel_centres(x0, y0, PLANET_PIXEL, PLANET_SIZE, PLANET_SIZE, 1)
    memory = gdal.GetDriverByName("MEM").Create("", PLANET_SIZE, PLANET_SIZE, 1, gdal.GDT_Byte)
    memory.GetRasterBand(1).WriteArray(_label_classes(land, *ground(cx, cy)))
    gdal.GetDriverByName("PNG").CreateCopy(str(folder / label_name), memory, options=["ZLEVEL=9"])
    memory = None


def import_plugin() -> None:
    """The checkout as the package 'labelmigration' (never the repository root on sys.path)."""
    import os
    root = str(REPO_ROOT)
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != root]
    link_root = tempfile.mkdtemp(prefix="labelmigration-demo-data-")
    os.symlink(root, os.path.join(link_root, "labelmigration"))
    sys.path.insert(0, link_root)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("labels", "archive"))
    parser.add_argument("folder", nargs="?")
    args = parser.parse_args(argv)
    gdal.UseExceptions()
    if args.what == "labels":
        paths = write_labels(Path(args.folder or DEMO / "data" / "labels"))
    else:
        if not args.folder:
            parser.error("archive needs a FOLDER")
        import_plugin()
        paths = write_archive(Path(args.folder))
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
