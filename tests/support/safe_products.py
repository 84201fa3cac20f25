"""Small but structurally real Sentinel-2 SAFE products (L1C and L2A, compact naming) for the tests.

``make_safe_product`` writes a ``<name>.SAFE`` folder (or a ``<name>.SAFE.zip`` holding it) with

* ``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``: Product_Info with Product_Organisation (IMAGE_FILE entries
  without the .jp2 extension), Product_Image_Characteristics (Special_Values NODATA 0 and
  SATURATED 65535, quantification, for processing baseline 04.00 and later the per band offsets
  ``Radiometric_Offset_List/RADIO_ADD_OFFSET`` (L1C) or ``BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET``
  (L2A), Reflectance_Conversion, Spectral_Information_List, for L2A the Scene_Classification_List),
  Geometric_Info (footprint in lat/lon), Auxiliary_Data_Info and Quality_Indicators_Info;
* ``GRANULE/<granule id>/MTD_TL.xml`` with Geometric_Info/Tile_Geocoding (HORIZONTAL_CS_NAME,
  HORIZONTAL_CS_CODE, Size and Geoposition at 10, 20 and 60 m), a coarse Tile_Angles grid and the
  quality indicators;
* lossless JPEG2000 bands (JP2OpenJPEG, ``QUALITY=100 REVERSIBLE=YES``, 1024 px code blocks/tiles,
  GeoJP2 + GMLJP2 georeferencing): L1C ``IMG_DATA/T<tile>_<time>_<band>.jp2`` for the 13 bands and
  TCI; L2A ``IMG_DATA/R10m|R20m|R60m/T<tile>_<time>_<band>_<res>m.jp2`` with every band at its native
  resolution, the aggregated copies real products carry (block means, B01 at 20 m replicated from
  60 m for baseline 04.00+), SCL at 20 and 60 m, AOT, WVP and TCI at 10, 20 and 60 m, and the
  cloud / snow probability masks ``QI_DATA/MSK_CLDPRB_20m|60m.jp2`` and ``MSK_SNWPRB_*`` (GDAL's
  driver adds them to the L2A 20 m and 60 m subdatasets and warns when they are missing);
* ``manifest.safe``, ``DATASTRIP/<id>/MTD_DS.xml`` and the empty AUX_DATA / QI_DATA folders.

Band values come from a formula in world coordinates (see ``ValueField``) so that two tiles of the
same datatake agree where they overlap; every band has its own level (bands strictly increase with
their band index everywhere), x and y slopes that differ from each other and from band to band,
and a mild sinusoid; values stay within about 1300..41000 and are never 0 in the valid area.
With ``nodata_corner`` a triangle in the top-left corner (the "outside the swath" area) holds 0 in
every band at every resolution: it is defined on the 60 m grid and expanded to 20 m and 10 m.
SCL holds classes 1..11 in 7 x 5 blocks of 20 m pixels (0 in the nodata triangle).

``SafeProduct.expected_dn`` recomputes any written array from the same formula, so tests can
resample it themselves. ``size_10m=10980`` writes a full-size tile in bounded memory: each file is
computed in strips of about 2 M pixels into a temporary tiled GeoTIFF (1024 px tiles), then
``CreateCopy``-ed to JP2OpenJPEG; files are encoded in parallel threads, GDAL's block cache is capped
at 128 MB meanwhile.
"""
from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, osr

# Band order of the product XML (bandId 0..12) and their native resolutions.
BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
BAND_ID = {name: index for index, name in enumerate(BANDS)}
NATIVE_RESOLUTION = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
                     "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20,
                     "SCL": 20, "TCI": 10, "AOT": 10, "WVP": 10, "CLD": 20, "SNW": 20}
L1C_BANDS = BANDS
L2A_BANDS = tuple(b for b in BANDS if b != "B10")
NODATA = 0
SATURATED = 65535
QUANTIFICATION = 10000
OFFSET_SINCE_04 = -1000
AOT_QUANTIFICATION = 1000.0
WVP_QUANTIFICATION = 1000.0
SCL_CLASSES = ("NO_DATA", "SATURATED_DEFECTIVE", "DARK_FEATURE_SHADOW", "CLOUD_SHADOW", "VEGETATION",
               "NOT_VEGETATED", "WATER", "UNCLASSIFIED", "CLOUD_MEDIUM_PROBA", "CLOUD_HIGH_PROBA",
               "THIN_CIRRUS", "SNOW_ICE")
SCL_BLOCK = (5, 7)  # rows x columns of 20 m pixels per SCL block
NODATA_TRIANGLE_FRACTION = 0.35  # legs of the nodata triangle, as a fraction of the tile side
STRIP_PIXELS = 1 << 21  # native pixels computed per strip (bounds the memory of a writer)
GDAL_CACHE_BYTES = 128 << 20  # block cache while writing (GDAL's default is 5 % of the RAM)
JP2_OPTIONS = ["QUALITY=100", "REVERSIBLE=YES", "BLOCKXSIZE=1024", "BLOCKYSIZE=1024"]

# L2A files per resolution folder (baseline 04.00+ adds B01 at 20 m), in the order real products list them.
_L2A_R10 = ("B02", "B03", "B04", "B08", "TCI", "AOT", "WVP")
_L2A_R20 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "TCI", "AOT", "WVP", "SCL")
_L2A_R60 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12", "TCI", "AOT", "WVP",
            "SCL")

# name, min, max, central wavelength (nm), solar irradiance, physical gain
_SPECTRAL = {
    "B01": (432, 453, 442.7, 1884.69, 3.97), "B02": (458, 523, 492.4, 1959.72, 3.82),
    "B03": (543, 578, 559.8, 1823.24, 4.24), "B04": (650, 680, 664.6, 1512.06, 4.78),
    "B05": (698, 713, 704.1, 1424.64, 5.18), "B06": (734, 748, 740.5, 1287.61, 5.09),
    "B07": (765, 785, 782.8, 1162.08, 4.76), "B08": (785, 900, 832.8, 1041.63, 6.82),
    "B8A": (855, 875, 864.7, 955.32, 5.76), "B09": (935, 955, 945.1, 812.92, 9.38),
    "B10": (1360, 1390, 1373.5, 367.15, 56.41), "B11": (1565, 1655, 1613.7, 245.59, 37.18),
    "B12": (2100, 2280, 2202.4, 85.25, 108.69),
}


def _physical_band(name: str) -> str:
    """B01 -> B1, B8A -> B8A (the spelling of Spectral_Information/@physicalBand)."""
    return name if name == "B8A" else "B" + str(int(name[1:]))


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValueField:
    """Band values as a function of world (UTM) coordinates, shared by tiles of one datatake.

    ``u = (x - x0) / scale_m`` grows eastwards and ``v = (y0 - y) / scale_m`` southwards; with the
    default origin (the tile's upper-left corner) and scale (the tile's side) both run 0..1 over a
    tile. For band index k (0..12, the XML bandId):

        DN = 1500 + 2000 k + (4000 + 150 k) u + (2500 + 100 k) v
             + 150 sin(2 pi (1.5 u + 0.13 k + 0.37 seed)) cos(2 pi (1.2 v + 0.05 k))

    The sinusoid changes x slopes by at most 1414 DN per scale, so DN strictly grows eastwards,
    southwards and with k; over u in 0..2 and v in 0..1 neighbouring bands stay more than 1000 DN
    apart.

    ``noise_dn`` > 0 adds a deterministic pseudo-random integer in -noise_dn..noise_dn per pixel
    (hashed from the band, the resolution and the world pixel index), so that full-size products
    compress like real ones for benchmarks (the smooth field compresses about 10 times better).
    ``expected_dn`` reproduces it exactly; ``dn`` without ``resolution_m`` leaves it out.
    """
    x0: float
    y0: float
    scale_m: float
    seed: int = 0
    noise_dn: int = 0

    def __post_init__(self):
        if not 0 <= self.noise_dn <= 400:
            raise ValueError(f"noise_dn must be within 0..400 (bands stay apart), not {self.noise_dn}")

    def uv(self, x, y):
        return (np.asarray(x, dtype=np.float64) - self.x0) / self.scale_m, \
            (self.y0 - np.asarray(y, dtype=np.float64)) / self.scale_m

    def dn(self, band: str, x, y, resolution_m: Optional[int] = None) -> np.ndarray:
        """Unrounded DN of a spectral band at world coordinates (arrays broadcast).

        With ``resolution_m`` (the grid the points are pixel centres of) the noise is added.
        """
        k = BAND_ID[band]
        u, v = self.uv(x, y)
        wave = np.sin(2 * np.pi * (1.5 * u + 0.13 * k + 0.37 * self.seed)) * np.cos(2 * np.pi * (1.2 * v + 0.05 * k))
        out = 1500.0 + 2000.0 * k + (4000.0 + 150.0 * k) * u + (2500.0 + 100.0 * k) * v + 150.0 * wave
        if self.noise_dn and resolution_m:
            out = out + self.noise(k, x, y, resolution_m)
        return out

    def noise(self, k: int, x, y, resolution_m: int) -> np.ndarray:
        """Integer noise in -noise_dn..noise_dn, a hash of (band, resolution, world pixel index)."""
        col = np.floor((np.asarray(x, dtype=np.float64) - self.x0) / resolution_m).astype(np.int64)
        row = np.floor((self.y0 - np.asarray(y, dtype=np.float64)) / resolution_m).astype(np.int64)
        salt = (k + 1) * 83492791 + resolution_m * 2654435 + self.seed * 40503
        h = (col * 73856093) ^ (row * 19349663) ^ salt
        h = (h * 2654435761) & 0xFFFFFFFF
        h ^= h >> 15
        h = (h * 2246822519) & 0xFFFFFFFF
        h ^= h >> 13
        return (h % (2 * self.noise_dn + 1) - self.noise_dn).astype(np.float64)

    def scl(self, x, y) -> np.ndarray:
        """Scene classes 1..11 in blocks of 5 rows x 7 columns of 20 m pixels (world aligned)."""
        col20 = np.floor((np.asarray(x, dtype=np.float64) - self.x0) / 20.0).astype(np.int64)
        row20 = np.floor((self.y0 - np.asarray(y, dtype=np.float64)) / 20.0).astype(np.int64)
        block = (row20 // SCL_BLOCK[0]) * 3 + (col20 // SCL_BLOCK[1]) * 5 + self.seed
        return (1 + np.mod(block, 11)).astype(np.uint8)

    def cloud_probability(self, x, y) -> np.ndarray:
        """MSK_CLDPRB (0..100), consistent with SCL: 60 / 95 / 25 for classes 8 / 9 / 10, else 0."""
        lookup = np.zeros(12, dtype=np.uint8)
        lookup[8], lookup[9], lookup[10] = 60, 95, 25
        return lookup[self.scl(x, y)]

    def snow_probability(self, x, y) -> np.ndarray:
        """MSK_SNWPRB (0..100): 100 where SCL is 11 (snow/ice), else 0."""
        return np.where(self.scl(x, y) == 11, 100, 0).astype(np.uint8)

    def aot(self, x, y) -> np.ndarray:
        u, v = self.uv(x, y)
        return 120.0 + 60.0 * u + 25.0 * v

    def wvp(self, x, y) -> np.ndarray:
        u, v = self.uv(x, y)
        return 1800.0 + 300.0 * u - 200.0 * v


def _tci_from_dn(red, green, blue) -> np.ndarray:
    out = np.stack([red, green, blue]).astype(np.float64)
    tci = np.clip(np.rint(out / 160.0), 1, 255).astype(np.uint8)
    tci[out == 0] = 0
    return tci


# --------------------------------------------------------------------------------------------------
# Product description
# --------------------------------------------------------------------------------------------------

@dataclass
class SafeProduct:
    """What ``make_safe_product`` wrote. Paths are strings; inside a zip they are /vsizip/ paths."""
    path: Path
    name: str
    level: str
    baseline: str
    offset: int
    quantification: int
    epsg: int
    ulx: float
    uly: float
    size_10m: int
    band_files: Dict[str, str]
    mtd_path: str
    tile: str = ""
    sensing: Optional[datetime] = None
    relative_orbit: int = 0
    cloud_cover: float = 0.0
    zipped: bool = False
    nodata_corner: bool = True
    granule_id: str = ""
    tile_mtd_path: str = ""
    files: Dict[Tuple[str, int], str] = field(default_factory=dict)
    values: Optional[ValueField] = None

    @property
    def bands(self) -> Tuple[str, ...]:
        return L1C_BANDS if self.level == "L1C" else L2A_BANDS

    @property
    def safe_dir(self) -> str:
        """The .SAFE folder: a real path, or a /vsizip/ path when zipped."""
        if self.zipped:
            return f"/vsizip/{self.path}/{self.name}.SAFE"
        return str(self.path)

    def shape(self, resolution_m: int) -> Tuple[int, int]:
        """(rows, cols) of the tile grid at a resolution."""
        n = self.size_10m * 10 // resolution_m
        return n, n

    def geotransform(self, resolution_m: int) -> Tuple[float, ...]:
        return (self.ulx, float(resolution_m), 0.0, self.uly, 0.0, -float(resolution_m))

    def pixel_centres(self, resolution_m: int, rows: slice = slice(None)) -> Tuple[np.ndarray, np.ndarray]:
        """World x (1, cols) and y (rows, 1) of the pixel centres of the grid at a resolution."""
        n_rows, n_cols = self.shape(resolution_m)
        r = np.arange(n_rows)[rows]
        c = np.arange(n_cols)
        x = self.ulx + (c + 0.5) * resolution_m
        y = self.uly - (r + 0.5) * resolution_m
        return x[np.newaxis, :], y[:, np.newaxis]

    def valid_mask(self, resolution_m: int, rows: slice = slice(None)) -> np.ndarray:
        """True where data is valid; the nodata triangle is defined on the 60 m grid."""
        n_rows, n_cols = self.shape(resolution_m)
        r = np.arange(n_rows)[rows][:, np.newaxis]
        c = np.arange(n_cols)[np.newaxis, :]
        if not self.nodata_corner:
            return np.ones((r.shape[0], n_cols), dtype=bool)
        factor = 60 // resolution_m
        return (r // factor + c // factor) >= self.nodata_triangle_60m

    @property
    def nodata_triangle_60m(self) -> int:
        """60 m pixel (row, col) is nodata iff row + col < this number (0 without nodata corner)."""
        return int(round(self.size_10m // 6 * NODATA_TRIANGLE_FRACTION)) if self.nodata_corner else 0

    @property
    def nodata_fraction(self) -> float:
        t = self.nodata_triangle_60m
        return t * (t + 1) / 2 / (self.size_10m // 6) ** 2

    def field_dn(self, band: str, x, y) -> np.ndarray:
        """Unrounded formula value at world coordinates (ignores nodata, and the noise if any)."""
        return self.values.dn(band, x, y)

    def expected_dn(self, band: str, resolution_m: Optional[int] = None,
                    rows: slice = slice(None)) -> np.ndarray:
        """The exact array written for ``band`` at ``resolution_m`` (default: its native resolution).

        At the native resolution this is the formula at the pixel centres, rounded, 0 in the nodata
        triangle. For L2A the aggregated copies in R20m/R60m are returned too (block means of the
        native values; B01 at 20 m replicated from 60 m). Other resolutions raise ValueError: resample
        the native array yourself. ``rows`` limits the rows (bounded memory for full-size tiles).
        TCI returns a (3, rows, cols) uint8 array.
        """
        native = NATIVE_RESOLUTION[band]
        resolution_m = native if resolution_m is None else int(resolution_m)
        if (band, resolution_m) not in self.files:
            raise ValueError(f"{self.name} has no {band} file at {resolution_m} m "
                             f"(native {native} m); resample expected_dn({band!r}) yourself")
        return self._values_at(band, resolution_m, rows)

    def expected_reflectance(self, band: str) -> np.ndarray:
        """(DN + offset) / quantification at the native resolution, NaN where DN is 0."""
        dn = self.expected_dn(band).astype(np.float64)
        out = (dn + self.offset) / self.quantification
        out[dn == NODATA] = np.nan
        return out

    # -- computing ---------------------------------------------------------------------------------

    def _native(self, band: str, resolution_m: int, rows: slice) -> np.ndarray:
        x, y = self.pixel_centres(resolution_m, rows)
        valid = self.valid_mask(resolution_m, rows)
        if band == "SCL":
            out = self.values.scl(x, y)
        elif band == "CLD":
            out = self.values.cloud_probability(x, y)
        elif band == "SNW":
            out = self.values.snow_probability(x, y)
        elif band in ("AOT", "WVP"):
            func = self.values.aot if band == "AOT" else self.values.wvp
            out = np.rint(func(x, y) + np.zeros_like(valid, dtype=np.float64)).astype(np.uint16)
        else:
            out = np.rint(self.values.dn(band, x, y, resolution_m)).astype(np.uint16)
        out = np.where(valid, out, 0).astype(out.dtype)
        return out

    def _values_at(self, band: str, resolution_m: int, rows: slice) -> np.ndarray:
        n_rows, _ = self.shape(resolution_m)
        start, stop, step = rows.indices(n_rows)
        if step != 1:
            raise ValueError("rows must be a contiguous slice")
        if band == "TCI":
            red, green, blue = (self._values_at(b, resolution_m, slice(start, stop)) for b in ("B04", "B03", "B02"))
            return _tci_from_dn(red, green, blue)
        native = NATIVE_RESOLUTION[band]
        if band in ("SCL", "CLD", "SNW", "AOT", "WVP") or resolution_m == native:
            # Point-sampled at the pixel centres (SCL at 60 m = the central 20 m pixel of each 3 x 3).
            return self._native(band, resolution_m, slice(start, stop))
        if resolution_m > native:  # block mean of the native values
            f = resolution_m // native
            block = self._native(band, native, slice(start * f, stop * f)).astype(np.float64)
            r, c = block.shape
            mean = block.reshape(r // f, f, c // f, f).mean(axis=(1, 3))
            return np.rint(mean).astype(np.uint16)
        f = native // resolution_m  # finer than native (B01 at 20 m): nearest / replication
        coarse = self._native(band, native, slice(start // f, -(-stop // f)))
        fine = np.repeat(np.repeat(coarse, f, axis=0), f, axis=1)
        offset = start - (start // f) * f
        return fine[offset:offset + (stop - start)]


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------

def _stamp(t: datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%S")


def _iso(t: datetime, fraction: str = ".024Z") -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S") + fraction


def _absolute_orbit(spacecraft: str, sensing: datetime) -> int:
    """A plausible absolute orbit number (143 orbits every 10 days since launch)."""
    launch = datetime(2015, 6, 23) if spacecraft == "S2A" else datetime(2017, 3, 7)
    return max(1, int((sensing - launch).total_seconds() / 86400 * 14.3))


def _utm_zone_name(epsg: int) -> str:
    zone = epsg % 100
    hemisphere = "N" if 32600 < epsg < 32700 else "S"
    return f"WGS84 / UTM zone {zone}{hemisphere}"


@dataclass
class _Names:
    level: str
    baseline: str
    tile: str
    sensing: datetime
    relative_orbit: int
    spacecraft: str

    def __post_init__(self):
        self.generation = self.sensing + timedelta(hours=2, minutes=34, seconds=13)
        self.datastrip_start = self.sensing - timedelta(seconds=6)
        self.orbit = _absolute_orbit(self.spacecraft, self.sensing)
        self.centre = self.spacecraft[1:] + "PS"  # 2BPS, 2APS
        self.n = "N" + self.baseline.replace(".", "")
        self.nn = "N" + self.baseline

    @property
    def product_type(self) -> str:
        return "MSIL1C" if self.level == "L1C" else "MSIL2A"

    @property
    def name(self) -> str:
        return (f"{self.spacecraft}_{self.product_type}_{_stamp(self.sensing)}_{self.n}_R{self.relative_orbit:03d}"
                f"_T{self.tile}_{_stamp(self.generation)}")

    @property
    def granule_dir(self) -> str:
        return f"{self.level}_T{self.tile}_A{self.orbit:06d}_{_stamp(self.datastrip_start)}"

    @property
    def datastrip_dir(self) -> str:
        return f"DS_{self.centre}_{_stamp(self.generation)}_S{_stamp(self.datastrip_start)}"

    @property
    def datastrip_id(self) -> str:
        return (f"{self.spacecraft}_OPER_MSI_{self.level}_DS_{self.centre}_{_stamp(self.generation)}"
                f"_S{_stamp(self.datastrip_start)}_{self.nn}")

    @property
    def tile_id(self) -> str:
        return (f"{self.spacecraft}_OPER_MSI_{self.level}_TL_{self.centre}_{_stamp(self.generation)}"
                f"_A{self.orbit:06d}_T{self.tile}_{self.nn}")

    @property
    def l1c_tile_id(self) -> str:
        l1c_generation = self.generation - timedelta(minutes=27)
        return (f"{self.spacecraft}_OPER_MSI_L1C_TL_{self.centre}_{_stamp(l1c_generation)}"
                f"_A{self.orbit:06d}_T{self.tile}_{self.nn}")

    @property
    def datatake_id(self) -> str:
        return f"G{self.spacecraft}_{_stamp(self.sensing)}_{self.orbit:06d}_{self.nn}"

    def image_file(self, band: str, resolution: Optional[int] = None) -> str:
        """Path relative to the .SAFE folder, without the .jp2 extension (as in IMAGE_FILE)."""
        stem = f"T{self.tile}_{_stamp(self.sensing)}_{band}"
        if self.level == "L1C":
            return f"GRANULE/{self.granule_dir}/IMG_DATA/{stem}"
        return f"GRANULE/{self.granule_dir}/IMG_DATA/R{resolution}m/{stem}_{resolution}m"


def _baseline_number(baseline: str) -> float:
    return float(baseline)


def _l2a_files(baseline: str) -> List[Tuple[str, int]]:
    files = [(b, 10) for b in _L2A_R10]
    files += [(b, 20) for b in _L2A_R20 if b != "B01" or _baseline_number(baseline) >= 4.0]
    files += [(b, 60) for b in _L2A_R60]
    return files


# --------------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------------

def _footprint(product: SafeProduct) -> str:
    src = osr.SpatialReference()
    src.ImportFromEPSG(product.epsg)
    dst = osr.SpatialReference()
    dst.ImportFromEPSG(4326)
    dst.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(src, dst)
    side = product.size_10m * 10.0
    corners = [(product.ulx, product.uly), (product.ulx + side, product.uly),
               (product.ulx + side, product.uly - side), (product.ulx, product.uly - side),
               (product.ulx, product.uly)]
    out = []
    for x, y in corners:
        lon, lat, _ = transform.TransformPoint(x, y)
        out.append(f"{lat:.12f} {lon:.12f}")
    return " ".join(out) + " "


def _spectral_information(bands: Sequence[str]) -> str:
    parts = []
    for name in BANDS:
        low, high, central, _, _ = _SPECTRAL[name]
        n = int(high - low) + 1
        # a smooth plateau-shaped relative response (not a measured one)
        t = np.linspace(-1.0, 1.0, n)
        response = np.clip(1.05 - t ** 8, 0.0, 1.0)
        response[response.argmax()] = 1.0
        values = " ".join(f"{value:.6g}" for value in response)
        parts.append(f"""
                <Spectral_Information bandId="{BAND_ID[name]}" physicalBand="{_physical_band(name)}">
                    <RESOLUTION>{NATIVE_RESOLUTION[name]}</RESOLUTION>
                    <Wavelength>
                        <MIN unit="nm">{low}</MIN>
                        <MAX unit="nm">{high}</MAX>
                        <CENTRAL unit="nm">{central}</CENTRAL>
                    </Wavelength>
                    <Spectral_Response>
                        <STEP unit="nm">1</STEP>
                        <VALUES>{values}</VALUES>
                    </Spectral_Response>
                </Spectral_Information>""")
    return "".join(parts)


def _product_mtd(product: SafeProduct, names: _Names, image_files: Sequence[str]) -> str:
    level_text = "Level-1C" if product.level == "L1C" else "Level-2A"
    root = "Level-1C_User_Product" if product.level == "L1C" else "Level-2A_User_Product"
    xsd = "User_Product_Level-1C.xsd" if product.level == "L1C" else "User_Product_Level-2A.xsd"
    has_offset = product.offset != 0
    files_xml = "\n".join(f"                        <IMAGE_FILE>{f}</IMAGE_FILE>" for f in image_files)
    solar = "\n".join(f'                    <SOLAR_IRRADIANCE bandId="{BAND_ID[b]}" unit="W/m²/µm">'
                      f'{_SPECTRAL[b][3]}</SOLAR_IRRADIANCE>' for b in BANDS)
    gains = "\n".join(f'            <PHYSICAL_GAINS bandId="{BAND_ID[b]}">{_SPECTRAL[b][4]}</PHYSICAL_GAINS>'
                      for b in BANDS)
    if product.level == "L1C":
        quantification = f'            <QUANTIFICATION_VALUE unit="none">{product.quantification}</QUANTIFICATION_VALUE>'
        offsets = ""
        if has_offset:
            offsets = "\n            <Radiometric_Offset_List>\n" + "\n".join(
                f'                <RADIO_ADD_OFFSET band_id="{BAND_ID[b]}">{product.offset}</RADIO_ADD_OFFSET>'
                for b in BANDS) + "\n            </Radiometric_Offset_List>"
        scene = ""
        level_specific_tail = """
            <REFERENCE_BAND>B1</REFERENCE_BAND>"""
    else:
        quantification = f"""            <QUANTIFICATION_VALUES_LIST>
                <BOA_QUANTIFICATION_VALUE unit="none">{product.quantification}</BOA_QUANTIFICATION_VALUE>
                <AOT_QUANTIFICATION_VALUE unit="none">{AOT_QUANTIFICATION}</AOT_QUANTIFICATION_VALUE>
                <WVP_QUANTIFICATION_VALUE unit="cm">{WVP_QUANTIFICATION}</WVP_QUANTIFICATION_VALUE>
            </QUANTIFICATION_VALUES_LIST>"""
        offsets = ""
        if has_offset:
            offsets = "\n            <BOA_ADD_OFFSET_VALUES_LIST>\n" + "\n".join(
                f'                <BOA_ADD_OFFSET band_id="{BAND_ID[b]}">{product.offset}</BOA_ADD_OFFSET>'
                for b in BANDS) + "\n            </BOA_ADD_OFFSET_VALUES_LIST>"
        scene = "\n            <Scene_Classification_List>" + "".join(f"""
                <Scene_Classification_ID>
                    <SCENE_CLASSIFICATION_TEXT>SC_{text}</SCENE_CLASSIFICATION_TEXT>
                    <SCENE_CLASSIFICATION_INDEX>{index}</SCENE_CLASSIFICATION_INDEX>
                </Scene_Classification_ID>""" for index, text in enumerate(SCL_CLASSES)) + \
            "\n            </Scene_Classification_List>"
        level_specific_tail = ""
    qi = _product_quality(product)
    doi = "https://doi.org/10.5270/S2_-742ikth" if product.level == "L1C" else "https://doi.org/10.5270/S2_-znk9xsj"
    doi_xml = f"\n            <PRODUCT_DOI>{doi}</PRODUCT_DOI>" if _baseline_number(product.baseline) >= 4.0 else ""
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:{root} xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/{xsd}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="https://psd-14.sentinel2.eo.esa.int/PSD/{xsd}">
    <n1:General_Info>
        <Product_Info>
            <PRODUCT_START_TIME>{_iso(names.sensing)}</PRODUCT_START_TIME>
            <PRODUCT_STOP_TIME>{_iso(names.sensing)}</PRODUCT_STOP_TIME>
            <PRODUCT_URI>{product.name}.SAFE</PRODUCT_URI>
            <PROCESSING_LEVEL>{level_text}</PROCESSING_LEVEL>
            <PRODUCT_TYPE>S2MSI{product.level[1:]}</PRODUCT_TYPE>
            <PROCESSING_BASELINE>{product.baseline}</PROCESSING_BASELINE>{doi_xml}
            <GENERATION_TIME>{_iso(names.generation, ".000000Z")}</GENERATION_TIME>
            <PREVIEW_IMAGE_URL>Not applicable</PREVIEW_IMAGE_URL>
            <PREVIEW_GEO_INFO>Not applicable</PREVIEW_GEO_INFO>
            <Datatake datatakeIdentifier="{names.datatake_id}">
                <SPACECRAFT_NAME>Sentinel-2{names.spacecraft[2]}</SPACECRAFT_NAME>
                <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>
                <DATATAKE_SENSING_START>{_iso(names.sensing)}</DATATAKE_SENSING_START>
                <SENSING_ORBIT_NUMBER>{product.relative_orbit}</SENSING_ORBIT_NUMBER>
                <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
            </Datatake>
            <Query_Options completeSingleTile="true">
                <PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>
            </Query_Options>
            <Product_Organisation>
                <Granule_List>
                    <Granule datastripIdentifier="{names.datastrip_id}" granuleIdentifier="{names.tile_id}" imageFormat="JPEG2000">
{files_xml}
                    </Granule>
                </Granule_List>
            </Product_Organisation>
        </Product_Info>
        <Product_Image_Characteristics>
            <Special_Values>
                <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>
                <SPECIAL_VALUE_INDEX>{NODATA}</SPECIAL_VALUE_INDEX>
            </Special_Values>
            <Special_Values>
                <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>
                <SPECIAL_VALUE_INDEX>{SATURATED}</SPECIAL_VALUE_INDEX>
            </Special_Values>
            <Image_Display_Order>
                <RED_CHANNEL>3</RED_CHANNEL>
                <GREEN_CHANNEL>2</GREEN_CHANNEL>
                <BLUE_CHANNEL>1</BLUE_CHANNEL>
            </Image_Display_Order>
{quantification}{offsets}
            <Reflectance_Conversion>
                <U>0.973346743776027</U>
                <Solar_Irradiance_List>
{solar}
                </Solar_Irradiance_List>
            </Reflectance_Conversion>
            <Spectral_Information_List>{_spectral_information(BANDS)}
            </Spectral_Information_List>
{gains}{level_specific_tail}{scene}
        </Product_Image_Characteristics>
    </n1:General_Info>
    <n1:Geometric_Info>
        <Product_Footprint>
            <Product_Footprint>
                <Global_Footprint>
                    <EXT_POS_LIST>{_footprint(product)}</EXT_POS_LIST>
                </Global_Footprint>
            </Product_Footprint>
            <RASTER_CS_TYPE>POINT</RASTER_CS_TYPE>
            <PIXEL_ORIGIN>1</PIXEL_ORIGIN>
        </Product_Footprint>
        <Coordinate_Reference_System>
            <GEO_TABLES version="1">EPSG</GEO_TABLES>
            <HORIZONTAL_CS_TYPE>GEOGRAPHIC</HORIZONTAL_CS_TYPE>
        </Coordinate_Reference_System>
    </n1:Geometric_Info>
    <n1:Auxiliary_Data_Info>
        <GIPP_List>
            <GIPP_FILENAME type="GIP_PROBAS" version="{product.baseline.replace('.', '')[:4]}">{names.spacecraft}_OPER_GIP_PROBAS_MPC__20200101T000000_V20200101T000000_21000101T000000_B00</GIPP_FILENAME>
            <GIPP_FILENAME type="GIP_JP2KPA" version="0006">{names.spacecraft}_OPER_GIP_JP2KPA_MPC__20200101T000000_V20200101T000000_21000101T000000_B00</GIPP_FILENAME>
        </GIPP_List>
        <PRODUCTION_DEM_TYPE>CopernicusDEM30</PRODUCTION_DEM_TYPE>
        <IERS_BULLETIN_FILENAME>S2__OPER_AUX_UT1UTC_PDMC_{names.sensing:%Y%m%d}T000000_V{names.sensing:%Y%m%d}T000000_{names.sensing.year + 1}{names.sensing:%m%d}T000000</IERS_BULLETIN_FILENAME>
        <ECMWF_DATA_REF>S2__OPER_AUX_ECMWFD_ADG__{names.sensing:%Y%m%d}T000000_V{names.sensing:%Y%m%d}T090000_{names.sensing:%Y%m%d}T210000</ECMWF_DATA_REF>
    </n1:Auxiliary_Data_Info>
{qi}
</n1:{root}>
"""


def _product_quality(product: SafeProduct) -> str:
    nodata = 100.0 * product.nodata_fraction
    checks = ["FORMAT_CORRECTNESS", "GENERAL_QUALITY", "GEOMETRIC_QUALITY"]
    checks += (["L2A_QUALITY"] if product.level == "L2A" else []) + ["RADIOMETRIC_QUALITY", "SENSOR_QUALITY"]
    checks_xml = "\n".join(f'                <quality_check checkType="{c}">PASSED</quality_check>' for c in checks)
    content = ""
    if product.level == "L2A":
        rest = max(0.0, 100.0 - product.cloud_cover)
        content = f"""
        <Image_Content_QI>
            <NODATA_PIXEL_PERCENTAGE>{nodata:.6f}</NODATA_PIXEL_PERCENTAGE>
            <SATURATED_DEFECTIVE_PIXEL_PERCENTAGE>0.000000</SATURATED_DEFECTIVE_PIXEL_PERCENTAGE>
            <CAST_SHADOW_PERCENTAGE>0.000000</CAST_SHADOW_PERCENTAGE>
            <CLOUD_SHADOW_PERCENTAGE>1.000000</CLOUD_SHADOW_PERCENTAGE>
            <VEGETATION_PERCENTAGE>{rest * 0.6:.6f}</VEGETATION_PERCENTAGE>
            <NOT_VEGETATED_PERCENTAGE>{rest * 0.25:.6f}</NOT_VEGETATED_PERCENTAGE>
            <WATER_PERCENTAGE>{rest * 0.1:.6f}</WATER_PERCENTAGE>
            <UNCLASSIFIED_PERCENTAGE>{rest * 0.05:.6f}</UNCLASSIFIED_PERCENTAGE>
            <MEDIUM_PROBA_CLOUDS_PERCENTAGE>{product.cloud_cover * 0.4:.6f}</MEDIUM_PROBA_CLOUDS_PERCENTAGE>
            <HIGH_PROBA_CLOUDS_PERCENTAGE>{product.cloud_cover * 0.5:.6f}</HIGH_PROBA_CLOUDS_PERCENTAGE>
            <THIN_CIRRUS_PERCENTAGE>{product.cloud_cover * 0.1:.6f}</THIN_CIRRUS_PERCENTAGE>
            <SNOW_ICE_PERCENTAGE>0.000000</SNOW_ICE_PERCENTAGE>
            <RADIATIVE_TRANSFER_ACCURACY>0.0</RADIATIVE_TRANSFER_ACCURACY>
            <WATER_VAPOUR_RETRIEVAL_ACCURACY>0.0</WATER_VAPOUR_RETRIEVAL_ACCURACY>
            <AOT_RETRIEVAL_ACCURACY>0.0</AOT_RETRIEVAL_ACCURACY>
            <AOT_RETRIEVAL_METHOD>SEN2COR_DDV</AOT_RETRIEVAL_METHOD>
        </Image_Content_QI>"""
    return f"""    <n1:Quality_Indicators_Info>
        <Cloud_Coverage_Assessment>{product.cloud_cover}</Cloud_Coverage_Assessment>
        <Technical_Quality_Assessment>
            <DEGRADED_ANC_DATA_PERCENTAGE>0.0</DEGRADED_ANC_DATA_PERCENTAGE>
            <DEGRADED_MSI_DATA_PERCENTAGE>0</DEGRADED_MSI_DATA_PERCENTAGE>
        </Technical_Quality_Assessment>
        <Quality_Control_Checks>
            <Quality_Inspections>
{checks_xml}
            </Quality_Inspections>
            <Failed_Inspections/>
        </Quality_Control_Checks>{content}
    </n1:Quality_Indicators_Info>"""


def _angle_grid(n: int, start: float, step_row: float, step_col: float) -> str:
    rows = []
    for r in range(n):
        rows.append("              <VALUES>" + " ".join(f"{start + r * step_row + c * step_col:.4f}" for c in range(n))
                    + "</VALUES>")
    return "\n".join(rows)


def _number(value: float) -> str:
    """699960.0 -> '699960' (as in real tile metadata), other values in full precision."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _tile_mtd(product: SafeProduct, names: _Names) -> str:
    root = "Level-1C_Tile_ID" if product.level == "L1C" else "Level-2A_Tile_ID"
    xsd = "S2_PDI_Level-1C_Tile_Metadata.xsd" if product.level == "L1C" else "S2_PDI_Level-2A_Tile_Metadata.xsd"
    l1c_id = f'\n    <L1C_TILE_ID metadataLevel="Brief">{names.l1c_tile_id}</L1C_TILE_ID>' if product.level == "L2A" else ""
    sizes = "".join(f"""
      <Size resolution="{res}">
        <NROWS>{product.shape(res)[0]}</NROWS>
        <NCOLS>{product.shape(res)[1]}</NCOLS>
      </Size>""" for res in (10, 20, 60))
    positions = "".join(f"""
      <Geoposition resolution="{res}">
        <ULX>{_number(product.ulx)}</ULX>
        <ULY>{_number(product.uly)}</ULY>
        <XDIM>{res}</XDIM>
        <YDIM>-{res}</YDIM>
      </Geoposition>""" for res in (10, 20, 60))
    n_angles = int(math.ceil(product.size_10m * 10 / 5000.0)) + 1
    granule = f"GRANULE/{names.granule_dir}"
    if product.level == "L1C":
        pixel_qi = ""
        content = f"""
    <Image_Content_QI>
      <CLOUDY_PIXEL_PERCENTAGE>{product.cloud_cover}</CLOUDY_PIXEL_PERCENTAGE>
      <DEGRADED_MSI_DATA_PERCENTAGE>0</DEGRADED_MSI_DATA_PERCENTAGE>
      <SNOW_PIXEL_PERCENTAGE>0.0</SNOW_PIXEL_PERCENTAGE>
    </Image_Content_QI>"""
    else:
        masks = "\n".join(
            f'      <MASK_FILENAME type="{t}">{granule}/QI_DATA/{t}_{res}m.jp2</MASK_FILENAME>'
            for t in ("MSK_CLDPRB", "MSK_SNWPRB") for res in (20, 60))
        pixel_qi = f"""
    <Pixel_Level_QI geometry="FULL_RESOLUTION">
{masks}
    </Pixel_Level_QI>"""
        content = f"""
    <L1C_Image_Content_QI>
      <CLOUDY_PIXEL_PERCENTAGE>{product.cloud_cover}</CLOUDY_PIXEL_PERCENTAGE>
    </L1C_Image_Content_QI>
    <L2A_Image_Content_QI>
      <NODATA_PIXEL_PERCENTAGE>{100.0 * product.nodata_fraction:.6f}</NODATA_PIXEL_PERCENTAGE>
      <CLOUDY_PIXEL_PERCENTAGE>{product.cloud_cover}</CLOUDY_PIXEL_PERCENTAGE>
    </L2A_Image_Content_QI>"""
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:{root} xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/{xsd}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="https://psd-14.sentinel2.eo.esa.int/PSD/{xsd}">
  <n1:General_Info>{l1c_id}
    <TILE_ID metadataLevel="Brief">{names.tile_id}</TILE_ID>
    <DATASTRIP_ID metadataLevel="Standard">{names.datastrip_id}</DATASTRIP_ID>
    <DOWNLINK_PRIORITY metadataLevel="Standard">NOMINAL</DOWNLINK_PRIORITY>
    <SENSING_TIME metadataLevel="Standard">{_iso(names.sensing + timedelta(seconds=17), ".271949Z")}</SENSING_TIME>
    <Archiving_Info metadataLevel="Expertise">
      <ARCHIVING_CENTRE>{names.centre}</ARCHIVING_CENTRE>
      <ARCHIVING_TIME>{_iso(names.generation + timedelta(minutes=40), ".573608Z")}</ARCHIVING_TIME>
    </Archiving_Info>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>{_utm_zone_name(product.epsg)}</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>EPSG:{product.epsg}</HORIZONTAL_CS_CODE>{sizes}{positions}
    </Tile_Geocoding>
    <Tile_Angles metadataLevel="Standard">
      <Sun_Angles_Grid>
        <Zenith>
          <COL_STEP unit="m">5000</COL_STEP>
          <ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List>
{_angle_grid(n_angles, 38.5, 0.044, -0.010)}
          </Values_List>
        </Zenith>
        <Azimuth>
          <COL_STEP unit="m">5000</COL_STEP>
          <ROW_STEP unit="m">5000</ROW_STEP>
          <Values_List>
{_angle_grid(n_angles, 152.3, -0.004, 0.107)}
          </Values_List>
        </Azimuth>
      </Sun_Angles_Grid>
      <Mean_Sun_Angle>
        <ZENITH_ANGLE unit="deg">38.9</ZENITH_ANGLE>
        <AZIMUTH_ANGLE unit="deg">153.4</AZIMUTH_ANGLE>
      </Mean_Sun_Angle>
      <Mean_Viewing_Incidence_Angle_List>""" + "".join(f"""
        <Mean_Viewing_Incidence_Angle bandId="{BAND_ID[b]}">
          <ZENITH_ANGLE unit="deg">{4.1 + 0.02 * BAND_ID[b]:.4f}</ZENITH_ANGLE>
          <AZIMUTH_ANGLE unit="deg">{105.0 + 0.5 * BAND_ID[b]:.4f}</AZIMUTH_ANGLE>
        </Mean_Viewing_Incidence_Angle>""" for b in BANDS) + f"""
      </Mean_Viewing_Incidence_Angle_List>
    </Tile_Angles>
  </n1:Geometric_Info>
  <n1:Quality_Indicators_Info metadataLevel="Standard">{content}{pixel_qi}
  </n1:Quality_Indicators_Info>
</n1:{root}>
"""


def _datastrip_mtd(product: SafeProduct, names: _Names) -> str:
    root = "Level-1C_DataStrip_ID" if product.level == "L1C" else "Level-2A_DataStrip_ID"
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:{root} xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_{root.replace('_ID', '')}_Metadata.xsd">
  <n1:General_Info>
    <DATASTRIP_ID metadataLevel="Brief">{names.datastrip_id}</DATASTRIP_ID>
    <Datatake_Info datatakeIdentifier="{names.datatake_id}">
      <SPACECRAFT_NAME>Sentinel-2{names.spacecraft[2]}</SPACECRAFT_NAME>
      <DATATAKE_SENSING_START>{_iso(names.sensing)}</DATATAKE_SENSING_START>
      <SENSING_ORBIT_NUMBER>{product.relative_orbit}</SENSING_ORBIT_NUMBER>
      <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
    </Datatake_Info>
    <Processing_Info>
      <PROCESSING_BASELINE>{product.baseline}</PROCESSING_BASELINE>
      <PROCESSING_CENTER>{names.centre}</PROCESSING_CENTER>
    </Processing_Info>
  </n1:General_Info>
</n1:{root}>
"""


def _manifest(product: SafeProduct, safe: Path, relative_files: Sequence[str]) -> str:
    objects = []
    for index, relative in enumerate(relative_files):
        path = safe / relative
        digest = hashlib.md5()
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 22), b""):
                digest.update(chunk)
        mime = "application/xml" if relative.endswith(".xml") else "application/octet-stream"
        objects.append(f"""    <dataObject ID="{Path(relative).stem}_{index}">
      <byteStream mimeType="{mime}" size="{path.stat().st_size}">
        <fileLocation locatorType="URL" href="./{relative}"/>
        <checksum checksumName="MD5">{digest.hexdigest()}</checksum>
      </byteStream>
    </dataObject>""")
    product_type = "S2MSI1C" if product.level == "L1C" else "S2MSI2A"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:safe="http://www.esa.int/safe/sentinel/1.1" version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l{product.level[1:].lower()}_user_product">
  <informationPackageMap>
    <xfdu:contentUnit unitType="Product_Level-{product.level[1:]}" textInfo="SENTINEL-2 MSI {product_type}" dmdID="acquisitionPeriod platform" pdiID="processing">
      <xfdu:contentUnit unitType="Metadata_Unit" ID="Product_Metadata"/>
    </xfdu:contentUnit>
  </informationPackageMap>
  <dataObjectSection>
{chr(10).join(objects)}
  </dataObjectSection>
</xfdu:XFDU>
"""


# --------------------------------------------------------------------------------------------------
# Writing rasters
# --------------------------------------------------------------------------------------------------

def _srs_wkt(epsg: int) -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt()


def _write_jp2(path: Path, product: SafeProduct, band: str, resolution: int) -> None:
    """Writes one JP2 in strips through a temporary tiled GeoTIFF (bounded memory)."""
    rows, cols = product.shape(resolution)
    is_tci = band == "TCI"
    count = 3 if is_tci else 1
    data_type = gdal.GDT_Byte if band in ("TCI", "SCL", "CLD", "SNW") else gdal.GDT_UInt16
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(suffix=".tif", prefix=f".{band}_{resolution}m_", dir=path.parent)
    os.close(handle)
    try:
        temp = gdal.GetDriverByName("GTiff").Create(
            temp_name, cols, rows, count, data_type,
            ["TILED=YES", "BLOCKXSIZE=1024", "BLOCKYSIZE=1024", "SPARSE_OK=TRUE"])
        if temp is None:
            raise RuntimeError(f"cannot create {temp_name}: {gdal.GetLastErrorMsg()}")
        temp.SetGeoTransform(product.geotransform(resolution))
        temp.SetProjection(_srs_wkt(product.epsg))
        native = NATIVE_RESOLUTION.get(band, resolution) if band != "TCI" else 10
        factor = max(1, resolution // native)
        strip_rows = max(factor, STRIP_PIXELS // (cols * factor * factor * (3 if is_tci else 1)))
        for start in range(0, rows, strip_rows):
            stop = min(rows, start + strip_rows)
            block = product._values_at(band, resolution, slice(start, stop))
            if is_tci:
                for index in range(3):
                    temp.GetRasterBand(index + 1).WriteArray(block[index], 0, start)
            else:
                temp.GetRasterBand(1).WriteArray(block, 0, start)
        if is_tci:
            for index, interp in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)):
                temp.GetRasterBand(index + 1).SetColorInterpretation(interp)
        temp.FlushCache()
        options = list(JP2_OPTIONS)
        if is_tci:
            options.append("YCC=NO")
        out = gdal.GetDriverByName("JP2OpenJPEG").CreateCopy(str(path), temp, 0, options)
        if out is None:
            raise RuntimeError(f"cannot write {path}: {gdal.GetLastErrorMsg()}")
        out = None
        temp = None
    finally:
        gdal.Unlink(temp_name)
        aux = Path(str(path) + ".aux.xml")
        if aux.exists():
            aux.unlink()


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------

def make_safe_product(folder, level: str = "L2A", baseline: str = "05.09", tile: str = "32UPU",
                      epsg: int = 32632, ulx: float = 699960.0, uly: float = 5400000.0, size_10m: int = 1098,
                      sensing: datetime = datetime(2020, 8, 15, 10, 25, 59), relative_orbit: int = 108,
                      cloud_cover: float = 12.5, zipped: bool = False, nodata_corner: bool = True, seed: int = 0,
                      spacecraft: str = "S2B", noise_dn: int = 0, values: Optional[ValueField] = None,
                      workers: Optional[int] = None) -> SafeProduct:
    """Writes a compact-naming SAFE product under ``folder`` and describes it.

    ``size_10m`` is the tile side in 10 m pixels and must be a multiple of 6 (10980 = a full tile).
    ``values`` sets the world-coordinate value field (default: origin at this tile's upper-left corner,
    scale = tile side); ``make_safe_pair_across_tiles`` passes one field to both tiles.
    ``zipped`` writes ``<name>.SAFE.zip`` holding ``<name>.SAFE/`` (JP2 stored, XML deflated) and
    leaves no folder behind. ``workers`` JP2 files are encoded in parallel (default: CPU count, max 4).
    ``noise_dn`` (0..400) adds reproducible per-pixel noise, for benchmarks on realistic file sizes.
    """
    level = level.upper()
    if level not in ("L1C", "L2A"):
        raise ValueError(f"level must be L1C or L2A, not {level!r}")
    if size_10m <= 0 or size_10m % 6:
        raise ValueError(f"size_10m must be a positive multiple of 6 (20 m and 60 m grids align), not {size_10m}")
    if len(baseline) != 5 or baseline[2] != ".":
        raise ValueError(f"baseline must look like '05.09', not {baseline!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = _Names(level, baseline, tile, sensing, relative_orbit, spacecraft)
    offset = OFFSET_SINCE_04 if _baseline_number(baseline) >= 4.0 else 0
    values = values or ValueField(float(ulx), float(uly), size_10m * 10.0, seed, noise_dn)

    if level == "L1C":
        raster_files = [(b, NATIVE_RESOLUTION[b]) for b in L1C_BANDS] + [("TCI", 10)]
    else:
        raster_files = _l2a_files(baseline)
    image_files = [names.image_file(b, r) for b, r in raster_files]
    # L2A cloud / snow probability masks live in QI_DATA and are not listed as IMAGE_FILE
    mask_files = []
    if level == "L2A":
        mask_files = [(f"GRANULE/{names.granule_dir}/QI_DATA/MSK_{kind}PRB_{r}m", b, r)
                      for kind, b in (("CLD", "CLD"), ("SNW", "SNW")) for r in (20, 60)]
    all_files = list(zip(image_files, raster_files)) + [(f, (b, r)) for f, b, r in mask_files]

    name = names.name
    product = SafeProduct(
        path=Path(), name=name, level=level, baseline=baseline, offset=offset, quantification=QUANTIFICATION,
        epsg=epsg, ulx=float(ulx), uly=float(uly), size_10m=size_10m, band_files={}, mtd_path="", tile=tile,
        sensing=sensing, relative_orbit=relative_orbit, cloud_cover=cloud_cover, zipped=zipped,
        nodata_corner=nodata_corner, granule_id=names.granule_dir, values=values)

    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder)) if zipped else folder
    safe = work / f"{name}.SAFE"
    if safe.exists():
        shutil.rmtree(safe)
    try:
        safe.mkdir(parents=True)
        granule = safe / "GRANULE" / names.granule_dir
        for sub in ("AUX_DATA", "QI_DATA", "IMG_DATA"):
            (granule / sub).mkdir(parents=True, exist_ok=True)
        (safe / "DATASTRIP" / names.datastrip_dir / "QI_DATA").mkdir(parents=True, exist_ok=True)
        (safe / "AUX_DATA").mkdir(exist_ok=True)
        (safe / "HTML").mkdir(exist_ok=True)
        (safe / "rep_info").mkdir(exist_ok=True)

        # biggest first, so that the pool does not end on one long job
        jobs = sorted(((safe / (f + ".jp2"), b, r) for f, (b, r) in all_files),
                      key=lambda job: (job[2], job[1] != "TCI"))
        workers = workers or min(4, os.cpu_count() or 1)
        cache = gdal.GetCacheMax()
        if cache > GDAL_CACHE_BYTES:
            gdal.SetCacheMax(GDAL_CACHE_BYTES)
        try:
            if workers > 1 and len(jobs) > 1:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(lambda job: _write_jp2(job[0], product, job[1], job[2]), jobs))
            else:
                for job in jobs:
                    _write_jp2(job[0], product, job[1], job[2])
        finally:
            gdal.SetCacheMax(cache)

        mtd_name = f"MTD_MSI{level}.xml"
        (safe / mtd_name).write_text(_product_mtd(product, names, image_files), encoding="utf-8")
        (granule / "MTD_TL.xml").write_text(_tile_mtd(product, names), encoding="utf-8")
        (safe / "DATASTRIP" / names.datastrip_dir / "MTD_DS.xml").write_text(
            _datastrip_mtd(product, names), encoding="utf-8")
        (safe / "INSPIRE.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd">'
            f'<gmd:fileIdentifier>{name}</gmd:fileIdentifier></gmd:MD_Metadata>\n', encoding="utf-8")
        listed = [mtd_name, f"GRANULE/{names.granule_dir}/MTD_TL.xml",
                  f"DATASTRIP/{names.datastrip_dir}/MTD_DS.xml"] + [f + ".jp2" for f, _ in all_files]
        (safe / "manifest.safe").write_text(_manifest(product, safe, listed), encoding="utf-8")

        if zipped:
            zip_path = folder / f"{name}.SAFE.zip"
            _zip_safe(safe, zip_path)
            product.path = zip_path
        else:
            product.path = safe
    finally:
        if zipped:
            shutil.rmtree(work, ignore_errors=True)

    base = product.safe_dir
    product.files = {(b, r): f"{base}/{f}.jp2" for f, (b, r) in all_files}
    product.band_files = {b: product.files[(b, NATIVE_RESOLUTION[b])] for b in product.bands}
    product.band_files["TCI"] = product.files[("TCI", 10)]
    if level == "L2A":
        for extra in ("SCL", "AOT", "WVP", "CLD", "SNW"):
            product.band_files[extra] = product.files[(extra, NATIVE_RESOLUTION[extra])]
    product.mtd_path = f"{base}/MTD_MSI{level}.xml"
    product.tile_mtd_path = f"{base}/GRANULE/{names.granule_dir}/MTD_TL.xml"
    return product


def _zip_safe(safe: Path, zip_path: Path) -> None:
    """``<name>.SAFE.zip`` with the ``<name>.SAFE/`` folder inside; JP2 stored, the rest deflated."""
    partial = zip_path.with_name(zip_path.name + ".part")
    with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
        root = safe.parent
        for directory, subdirs, files in os.walk(safe):
            subdirs.sort()
            relative_dir = Path(directory).relative_to(root).as_posix()
            archive.write(directory, relative_dir + "/")
            for filename in sorted(files):
                full = Path(directory) / filename
                arcname = f"{relative_dir}/{filename}"
                method = zipfile.ZIP_STORED if filename.endswith(".jp2") else zipfile.ZIP_DEFLATED
                archive.write(full, arcname, compress_type=method)
    partial.replace(zip_path)


def make_safe_pair_across_tiles(folder, level: str = "L2A", baseline: str = "05.09",
                                tiles: Tuple[str, str] = ("32UPU", "32UQU"), epsg: int = 32632,
                                ulx: float = 699960.0, uly: float = 5400000.0, size_10m: int = 1098,
                                overlap_10m: Optional[int] = None,
                                sensing: datetime = datetime(2020, 8, 15, 10, 25, 59), relative_orbit: int = 108,
                                cloud_cover: float = 12.5, zipped: bool = False, nodata_corner: bool = True,
                                seed: int = 0, noise_dn: int = 0, **kwargs) -> Tuple[SafeProduct, SafeProduct]:
    """Two products of one datatake on neighbouring tiles of one UTM zone, the second east of the first.

    The tiles share the upper edge and overlap by ``overlap_10m`` columns of 10 m pixels (default 60 =
    600 m for small tiles, 980 = 9.8 km, like real MGRS tiles, at full size). Band values come from
    one world-coordinate field, so both tiles hold the same value wherever their pixels coincide (all
    resolutions coincide when the overlap is a multiple of 6 pixels; with 980 the 60 m grids are offset
    by 20 m, as in real tiles). Each tile has its own nodata triangle in its top-left corner when
    ``nodata_corner``: the second tile's triangle lies partly in the overlap, where the first is valid.
    """
    if overlap_10m is None:
        overlap_10m = 980 if size_10m >= 10980 else 60
    if not 0 < overlap_10m < size_10m:
        raise ValueError(f"overlap_10m must be between 1 and size_10m - 1, not {overlap_10m}")
    field_ = ValueField(float(ulx), float(uly), size_10m * 10.0, seed, noise_dn)
    common = dict(level=level, baseline=baseline, epsg=epsg, uly=uly, size_10m=size_10m, sensing=sensing,
                  relative_orbit=relative_orbit, cloud_cover=cloud_cover, zipped=zipped,
                  nodata_corner=nodata_corner, seed=seed, values=field_, **kwargs)
    west = make_safe_product(folder, tile=tiles[0], ulx=ulx, **common)
    east = make_safe_product(folder, tile=tiles[1], ulx=ulx + (size_10m - overlap_10m) * 10.0, **common)
    return west, east


__all__ = ["BANDS", "L1C_BANDS", "L2A_BANDS", "NATIVE_RESOLUTION", "BAND_ID", "SafeProduct", "ValueField",
           "make_safe_product", "make_safe_pair_across_tiles"]
