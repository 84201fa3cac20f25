#!/usr/bin/env python3
"""Generate the bundled, synthetic sample data for ``make demo`` into demo/data/.

One continuous landscape is defined in world coordinates (UTM 32N, EPSG:32632, near Munich):
crop parcels separated by grass margins, a meandering river, a lake, a road with a bridge, forest,
and a small village. It is sampled on two different grids so that their content agrees:

* a Sentinel-2 L2A-like subset (B02, B03, B04, B08; uint16 DN = reflectance * 10000; 10 m; EPSG:32632),
* a PlanetScope-like "Visual" reference (uint8 RGB; 3 m; EPSG:3035, another CRS on purpose) with a
  nodata triangle in one corner, as at a real Planet scene edge,

and a plain PNG label (no georeferencing) is drawn from the landscape's class map on the reference
grid: 0 background, 1 maize fields, 2 water.

Everything is deterministic (fixed numpy seeds); run it again and the same files come out. Only
numpy, GDAL and rasterio (for vectorised coordinate transforms) are needed:

    .venv/bin/python demo/make_sample_data.py [OUTPUT_FOLDER]   # default: demo/data next to this file
"""
import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal, osr
from rasterio.warp import transform as transform_points

SEED = 20200815

# --- Grids ------------------------------------------------------------------------------------
SCENE_CRS = "EPSG:32632"
SCENE_X0, SCENE_Y0 = 690000.0, 5340000.0  # upper-left corner (UTM 32N, Munich's north-east)
SCENE_PIXEL = 10.0
SCENE_SIZE = 400  # pixels: a 4 km x 4 km subset
SCENE_SUPERSAMPLE = 4  # sub-samples per pixel side: mixed pixels at class edges

REFERENCE_CRS = "EPSG:3035"
REFERENCE_PIXEL = 3.0
REFERENCE_SIZE = 500  # pixels: 1.5 km x 1.5 km
REFERENCE_SUPERSAMPLE = 2
# Centre of the reference in scene-local metres (east of the scene's west edge, north of its south edge).
REFERENCE_CENTRE_LOCAL = (1900.0, 2100.0)
# Pixels with col + row below this are nodata (a Planet scene's cut corner, top left).
REFERENCE_NODATA_CORNER = 210

SCENE_NAME = "S2B_MSIL2A_20200815T102559_N0214_R108_T32UPU_subset.tif"
REFERENCE_NAME = "20200812_101512_1014_3B_Visual.tif"
LABEL_NAME = "20200812_101512_1014_label.png"

# --- Land cover -------------------------------------------------------------------------------
MEADOW, MAIZE, STUBBLE, SUGAR_BEET, BARE_SOIL, RAPESEED_REGROWTH, FOREST, WATER, ROAD, ROOF_RED, ROOF_GREY, \
    GARDEN, MARGIN = range(13)

# Surface reflectance in mid-August (B02 blue, B03 green, B04 red, B08 NIR), typical L2A values.
REFLECTANCE = {
    MEADOW: (0.040, 0.075, 0.050, 0.330),
    MAIZE: (0.028, 0.058, 0.032, 0.440),
    STUBBLE: (0.085, 0.115, 0.145, 0.260),  # harvested cereal
    SUGAR_BEET: (0.030, 0.068, 0.030, 0.500),
    BARE_SOIL: (0.070, 0.092, 0.120, 0.185),  # ploughed after harvest
    RAPESEED_REGROWTH: (0.055, 0.085, 0.085, 0.280),
    FOREST: (0.022, 0.040, 0.022, 0.255),
    WATER: (0.036, 0.044, 0.026, 0.016),
    ROAD: (0.105, 0.118, 0.128, 0.165),
    ROOF_RED: (0.075, 0.085, 0.160, 0.230),
    ROOF_GREY: (0.120, 0.130, 0.140, 0.170),
    GARDEN: (0.040, 0.070, 0.050, 0.300),
    MARGIN: (0.045, 0.075, 0.060, 0.290),  # grass strips and tracks between fields
}
# Share of fields per crop.
CROPS = (MAIZE, STUBBLE, SUGAR_BEET, MEADOW, BARE_SOIL, RAPESEED_REGROWTH)
CROP_SHARES = (0.26, 0.30, 0.10, 0.16, 0.10, 0.08)

# Label classes drawn from the land cover.
LABEL_CLASSES = {MAIZE: 1, WATER: 2}


# --- Smooth noise ---------------------------------------------------------------------------------
class ValueNoise:
    """Smooth random field in world coordinates: random lattice values, smoothstep-interpolated."""

    def __init__(self, rng: np.random.Generator, spacing: float, x0: float, y0: float, extent: float):
        self.spacing, self.x0, self.y0 = spacing, x0, y0
        cells = int(math.ceil(extent / spacing)) + 3
        self.lattice = rng.standard_normal((cells, cells)).astype(np.float64)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        fx = (x - self.x0) / self.spacing
        fy = (y - self.y0) / self.spacing
        ix, iy = np.floor(fx).astype(np.int64), np.floor(fy).astype(np.int64)
        tx, ty = fx - ix, fy - iy
        tx, ty = tx * tx * (3 - 2 * tx), ty * ty * (3 - 2 * ty)
        last = self.lattice.shape[0] - 2
        ix, iy = np.clip(ix, 0, last), np.clip(iy, 0, last)
        lat = self.lattice
        top = lat[iy, ix] * (1 - tx) + lat[iy, ix + 1] * tx
        bottom = lat[iy + 1, ix] * (1 - tx) + lat[iy + 1, ix + 1] * tx
        return top * (1 - ty) + bottom * ty


class Landscape:
    """Land cover and reflectance as functions of UTM 32N coordinates."""

    def __init__(self, seed: int = SEED):
        rng = np.random.default_rng(seed)
        margin = 600.0
        extent = SCENE_SIZE * SCENE_PIXEL + 2 * margin
        origin = (SCENE_X0 - margin, SCENE_Y0 - SCENE_SIZE * SCENE_PIXEL - margin)
        self.x_west = SCENE_X0
        self.y_south = SCENE_Y0 - SCENE_SIZE * SCENE_PIXEL
        self.noise_field = ValueNoise(rng, 70.0, *origin, extent)  # within-field variation
        self.noise_fine = ValueNoise(rng, 14.0, *origin, extent)  # tree crowns, soil patches
        self.noise_forest = ValueNoise(rng, 420.0, *origin, extent)  # where forest grows
        self.noise_water = ValueNoise(rng, 120.0, *origin, extent)  # turbidity

        # Parcels: a grid rotated by 12 degrees; rows of random width, each cut into fields of random length.
        self.angle = math.radians(12.0)
        span = extent * 1.5
        self.row_edges = np.cumsum(np.concatenate([[-span], rng.uniform(90.0, 230.0, 400)]))
        self.row_edges = self.row_edges[self.row_edges < span + 230.0]
        rows = len(self.row_edges) + 1
        self.col_edges = []
        for _ in range(rows):
            edges = np.cumsum(np.concatenate([[-span + rng.uniform(0, 300)], rng.uniform(140.0, 460.0, 200)]))
            self.col_edges.append(edges[edges < span + 460.0])
        max_cols = max(len(edges) for edges in self.col_edges) + 1
        self.field_crop = rng.choice(CROPS, size=(rows, max_cols), p=CROP_SHARES)
        self.field_gain = rng.normal(1.0, 0.06, size=(rows, max_cols))
        # Village: 25 m plots, about half of them with a house.
        self.village_centre = (self.x_west + 650.0, self.y_south + 1150.0)
        self.village_radius = 260.0
        self.plot_kind = rng.choice([0, ROOF_RED, ROOF_GREY], size=(64, 64), p=(0.5, 0.35, 0.15))

    # Local coordinates: metres east of the scene's west edge / north of its south edge.
    def _local(self, x, y):
        return x - self.x_west, y - self.y_south

    def river_distance(self, u, v):
        centre = 2600.0 + 260.0 * np.sin(2 * np.pi * v / 1700.0) + 110.0 * np.sin(2 * np.pi * v / 610.0 + 1.0)
        slope = (260.0 * 2 * np.pi / 1700.0) * np.cos(2 * np.pi * v / 1700.0) + \
                (110.0 * 2 * np.pi / 610.0) * np.cos(2 * np.pi * v / 610.0 + 1.0)
        return np.abs(u - centre) / np.sqrt(1.0 + slope ** 2)

    def road_distance(self, u, v):
        centre = 780.0 + 0.62 * u + 70.0 * np.sin(u / 700.0)
        slope = 0.62 + 0.1 * np.cos(u / 700.0)
        return np.abs(v - centre) / np.sqrt(1.0 + slope ** 2)

    def lake(self, u, v):
        du, dv = u - 1640.0, v - 2260.0
        a = math.radians(28.0)
        p, q = du * math.cos(a) + dv * math.sin(a), -du * math.sin(a) + dv * math.cos(a)
        wobble = 1.0 + 0.08 * np.sin(3 * np.arctan2(q, p)) + 0.05 * np.sin(5 * np.arctan2(q, p) + 1.0)
        return (p / 230.0) ** 2 + (q / 135.0) ** 2 < wobble ** 2

    def land_cover(self, x: np.ndarray, y: np.ndarray):
        """(land cover class, per-pixel brightness gain) at the given UTM coordinates."""
        u, v = self._local(x, y)
        cover = np.full(u.shape, MEADOW, np.uint8)
        gain = np.ones(u.shape)

        # Fields.
        c, s = math.cos(self.angle), math.sin(self.angle)
        p, q = u * c + v * s, -u * s + v * c
        row = np.searchsorted(self.row_edges, q)
        col = np.zeros(u.shape, np.int64)
        to_edge = np.full(u.shape, np.inf)
        for index in np.unique(row):
            inside = row == index
            edges = self.col_edges[index]
            col[inside] = np.searchsorted(edges, p[inside])
            k = np.clip(col[inside], 1, len(edges) - 1)
            to_edge[inside] = np.minimum(np.abs(p[inside] - edges[k - 1]), np.abs(edges[k] - p[inside]))
        r = np.clip(row, 1, len(self.row_edges) - 1)
        to_edge = np.minimum(to_edge, np.minimum(np.abs(q - self.row_edges[r - 1]), np.abs(self.row_edges[r] - q)))
        cover[:] = self.field_crop[row, col]
        gain *= self.field_gain[row, col] * (1.0 + 0.045 * self.noise_field(x, y))
        cover[to_edge < 2.5] = MARGIN

        # Forest: a wood in the north-east and a riparian strip along the river.
        river = self.river_distance(u, v)
        wood = (self.noise_forest(x, y) + 0.0003 * (u + v - 4200.0)) > 1.05
        riparian = (river < 60.0 + 25.0 * self.noise_field(x, y)) & (v > 2700.0)
        forest = wood | riparian
        cover[forest] = FOREST
        gain[forest] = 1.0 + 0.18 * self.noise_fine(x[forest], y[forest])

        # Village: gardens with houses on 25 m plots.
        vu, vv = self.village_centre[0] - self.x_west, self.village_centre[1] - self.y_south
        in_village = np.hypot(u - vu, v - vv) < self.village_radius * (1.0 + 0.15 * self.noise_field(x, y))
        cover[in_village] = GARDEN
        pu, pv = (u - vu + 800.0) / 25.0, (v - vv + 800.0) / 25.0
        plot_i, plot_j = np.floor(pv).astype(np.int64) % 64, np.floor(pu).astype(np.int64) % 64
        fu, fv = pu - np.floor(pu), pv - np.floor(pv)
        house = in_village & (np.abs(fu - 0.5) < 0.28) & (np.abs(fv - 0.5) < 0.24)
        kind = self.plot_kind[plot_i, plot_j]
        roofs = house & (kind != 0)
        cover[roofs] = kind[roofs]

        # Water: the river and a lake; the road crosses the river on a bridge.
        water = (river < 17.0) | self.lake(u, v)
        cover[water] = WATER
        gain[water] = 1.0 + 0.12 * self.noise_water(x[water], y[water])
        road = self.road_distance(u, v) < 6.0
        cover[road] = ROAD
        gain[road] = 1.0
        return cover, gain

    def reflectance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(4, ...) surface reflectance B02, B03, B04, B08."""
        cover, gain = self.land_cover(x, y)
        table = np.array([REFLECTANCE[k] for k in range(len(REFLECTANCE))])
        values = table[cover].astype(np.float64)  # (..., 4)
        values *= gain[..., None]
        # Soil and stubble show fine texture (tracks, wetter patches).
        rough = np.isin(cover, (STUBBLE, BARE_SOIL))
        values[rough] *= (1.0 + 0.05 * self.noise_fine(x[rough], y[rough]))[:, None]
        return np.moveaxis(values, -1, 0)


# --- Sampling on grids ---------------------------------------------------------------------------
def pixel_centres(x0, y0, pixel, width, height, supersample):
    """World coordinates of supersample x supersample points in every pixel: (height, width, s*s) arrays."""
    offsets = (np.arange(supersample) + 0.5) / supersample
    cols = (np.arange(width)[:, None] + offsets[None, :]).reshape(-1)
    rows = (np.arange(height)[:, None] + offsets[None, :]).reshape(-1)
    xs = x0 + cols * pixel
    ys = y0 - rows * pixel
    grid_x, grid_y = np.meshgrid(xs, ys)
    return grid_x, grid_y


def block_mean(values: np.ndarray, supersample: int) -> np.ndarray:
    """Average supersample x supersample blocks of the last two axes."""
    *lead, rows, cols = values.shape
    shaped = values.reshape(*lead, rows // supersample, supersample, cols // supersample, supersample)
    return shaped.mean(axis=(-1, -3))


def srs_wkt(definition: str) -> str:
    srs = osr.SpatialReference()
    srs.SetFromUserInput(definition)
    return srs.ExportToWkt()


def write_scene(landscape: Landscape, path: Path, rng: np.random.Generator) -> None:
    x, y = pixel_centres(SCENE_X0, SCENE_Y0, SCENE_PIXEL, SCENE_SIZE, SCENE_SIZE, SCENE_SUPERSAMPLE)
    reflectance = block_mean(landscape.reflectance(x, y), SCENE_SUPERSAMPLE)
    reflectance += rng.normal(0.0, 0.0012, reflectance.shape)  # sensor noise
    dn = np.clip(np.round(reflectance * 10000.0), 1, 65534).astype(np.uint16)  # 0 is nodata
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(str(path), SCENE_SIZE, SCENE_SIZE, 4, gdal.GDT_UInt16,
                            ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "PREDICTOR=2",
                             "ZLEVEL=9", "INTERLEAVE=PIXEL"])
    dataset.SetGeoTransform([SCENE_X0, SCENE_PIXEL, 0.0, SCENE_Y0, 0.0, -SCENE_PIXEL])
    dataset.SetProjection(srs_wkt(SCENE_CRS))
    dataset.SetMetadata({
        "SPACECRAFT_NAME": "Sentinel-2B", "PRODUCT_TYPE": "S2MSI2A", "PROCESSING_BASELINE": "02.14",
        "DATATAKE_SENSING_START": "2020-08-15T10:25:59.024Z", "MGRS_TILE": "32UPU",
        "QUANTIFICATION_VALUE": "10000", "BOA_ADD_OFFSET": "0",
        "SYNTHETIC": "yes: generated by demo/make_sample_data.py, not a real Sentinel-2 product",
    })
    for index, name in enumerate(("B02", "B03", "B04", "B08")):
        band = dataset.GetRasterBand(index + 1)
        band.SetDescription(name)
        band.SetNoDataValue(0)
        band.WriteArray(dn[index])
    dataset.FlushCache()
    dataset = None


def reference_grid():
    """Upper-left corner (EPSG:3035) of the reference, centred on REFERENCE_CENTRE_LOCAL, snapped to 3 m."""
    cx = SCENE_X0 + REFERENCE_CENTRE_LOCAL[0]
    cy = SCENE_Y0 - SCENE_SIZE * SCENE_PIXEL + REFERENCE_CENTRE_LOCAL[1]
    (ex,), (ey,) = transform_points(SCENE_CRS, REFERENCE_CRS, [cx], [cy])
    half = REFERENCE_SIZE * REFERENCE_PIXEL / 2
    x0 = math.floor((ex - half) / REFERENCE_PIXEL) * REFERENCE_PIXEL
    y0 = math.ceil((ey + half) / REFERENCE_PIXEL) * REFERENCE_PIXEL
    return x0, y0


def reference_to_world(x: np.ndarray, y: np.ndarray):
    """EPSG:3035 -> EPSG:32632 for arrays of any shape (one vectorised PROJ call)."""
    xs, ys = transform_points(REFERENCE_CRS, SCENE_CRS, x.ravel(), y.ravel())
    return np.asarray(xs).reshape(x.shape), np.asarray(ys).reshape(y.shape)


def check_inside_scene(x0: float, y0: float) -> None:
    size = REFERENCE_SIZE * REFERENCE_PIXEL
    corners_x = np.array([x0, x0 + size, x0 + size, x0])
    corners_y = np.array([y0, y0, y0 - size, y0 - size])
    ux, uy = reference_to_world(corners_x, corners_y)
    west, east = SCENE_X0, SCENE_X0 + SCENE_SIZE * SCENE_PIXEL
    south, north = SCENE_Y0 - SCENE_SIZE * SCENE_PIXEL, SCENE_Y0
    if not ((ux > west + 100).all() and (ux < east - 100).all() and (uy > south + 100).all() and (uy < north - 100).all()):
        raise SystemExit("The reference grid is not well inside the scene; check the constants.")


def nodata_corner() -> np.ndarray:
    rows, cols = np.mgrid[0:REFERENCE_SIZE, 0:REFERENCE_SIZE]
    return (rows + cols) < REFERENCE_NODATA_CORNER


def to_visual(reflectance: np.ndarray) -> np.ndarray:
    """PlanetScope 'Visual'-like 8-bit RGB: red/green/blue reflectance, brightened, gamma-corrected."""
    blue, green, red = reflectance[0], reflectance[1], reflectance[2]
    # Planet's bands differ a little from Sentinel-2's; the visual product is colour-balanced.
    rgb = np.stack([red * 1.02, green * 1.05 + 0.004, blue * 0.97])
    return np.clip(np.round(255.0 * np.clip(rgb / 0.30, 0, 1) ** (1 / 1.6)), 1, 255)


def write_reference_and_label(landscape: Landscape, reference_path: Path, label_path: Path,
                              rng: np.random.Generator) -> None:
    x0, y0 = reference_grid()
    check_inside_scene(x0, y0)
    ex, ey = pixel_centres(x0, y0, REFERENCE_PIXEL, REFERENCE_SIZE, REFERENCE_SIZE, REFERENCE_SUPERSAMPLE)
    ux, uy = reference_to_world(ex, ey)
    reflectance = block_mean(landscape.reflectance(ux, uy), REFERENCE_SUPERSAMPLE)
    rgb = to_visual(reflectance) + np.round(rng.normal(0.0, 1.2, reflectance[:3].shape))
    rgb = np.clip(rgb, 1, 255).astype(np.uint8)
    outside = nodata_corner()
    rgb[:, outside] = 0

    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(str(reference_path), REFERENCE_SIZE, REFERENCE_SIZE, 3, gdal.GDT_Byte,
                            ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE", "PREDICTOR=2",
                             "ZLEVEL=9", "PHOTOMETRIC=RGB", "INTERLEAVE=PIXEL"])
    dataset.SetGeoTransform([x0, REFERENCE_PIXEL, 0.0, y0, 0.0, -REFERENCE_PIXEL])
    dataset.SetProjection(srs_wkt(REFERENCE_CRS))
    dataset.SetMetadata({
        "TIFFTAG_DATETIME": "2020:08:12 10:15:12",
        "SYNTHETIC": "yes: generated by demo/make_sample_data.py, not a real PlanetScope product",
    })
    for index, interpretation in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)):
        band = dataset.GetRasterBand(index + 1)
        band.SetNoDataValue(0)
        band.SetColorInterpretation(interpretation)
        band.WriteArray(rgb[index])
    dataset.FlushCache()
    dataset = None

    # The label: what a user would have drawn on the reference (class at each pixel centre).
    cx, cy = pixel_centres(x0, y0, REFERENCE_PIXEL, REFERENCE_SIZE, REFERENCE_SIZE, 1)
    cover, _gain = landscape.land_cover(*reference_to_world(cx, cy))
    label = np.zeros(cover.shape, np.uint8)
    for cover_class, label_class in LABEL_CLASSES.items():
        label[cover == cover_class] = label_class
    label[outside] = 0  # nothing is drawn where the reference has no data
    memory = gdal.GetDriverByName("MEM").Create("", REFERENCE_SIZE, REFERENCE_SIZE, 1, gdal.GDT_Byte)
    memory.GetRasterBand(1).WriteArray(label)
    gdal.GetDriverByName("PNG").CreateCopy(str(label_path), memory, options=["ZLEVEL=9"])
    memory = None
    sidecar = Path(str(label_path) + ".aux.xml")
    if sidecar.exists():
        sidecar.unlink()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", nargs="?", default=str(Path(__file__).resolve().parent / "data"),
                        help="folder for the sample data (default: demo/data)")
    args = parser.parse_args(argv)
    gdal.UseExceptions()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    for name in (SCENE_NAME, REFERENCE_NAME, LABEL_NAME):
        stale = output / (name + ".aux.xml")  # statistics QGIS/GDAL saved for the old pixels
        if stale.exists():
            stale.unlink()
    landscape = Landscape(SEED)
    rng = np.random.default_rng(SEED + 1)
    write_scene(landscape, output / SCENE_NAME, rng)
    write_reference_and_label(landscape, output / REFERENCE_NAME, output / LABEL_NAME, rng)
    for name in (SCENE_NAME, REFERENCE_NAME, LABEL_NAME):
        print(f"{output / name}: {os.path.getsize(output / name) / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
