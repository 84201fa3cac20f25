"""A Sentinel-2 SAFE product (L1C and L2A, compact naming) as read from its metadata: bands, tile grid,
radiometric offsets and band files."""
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..util.errors import LabelMigrationError

SPECTRAL_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
NATIVE_RESOLUTION = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10, "B8A": 20,
    "B09": 60, "B10": 60, "B11": 20, "B12": 20, "SCL": 20,
}
# band_id of the XML offset lists: the position in SPECTRAL_BANDS
BAND_ID = {band: index for index, band in enumerate(SPECTRAL_BANDS)}
CLASS_BANDS = ("SCL",)  # categorical: always nearest neighbour
RESOLUTIONS = (10, 20, 60)


@dataclass
class TileGrid:
    epsg: int
    ulx: float
    uly: float
    # resolution -> (columns, rows)
    sizes: Dict[int, Tuple[int, int]]

    def transform(self, resolution: int) -> Tuple[float, float, float, float, float, float]:
        return (self.ulx, float(resolution), 0.0, self.uly, 0.0, -float(resolution))

    def size(self, resolution: int) -> Tuple[int, int]:
        if resolution in self.sizes:
            return self.sizes[resolution]
        columns, rows = self.sizes[10]
        return columns * 10 // resolution, rows * 10 // resolution


@dataclass
class SafeProduct:
    source: str  # as given by the user
    root: str  # GDAL path of the .SAFE folder (a /vsizip/ path for zips)
    metadata_path: str
    level: str  # 'L1C' or 'L2A'
    product_type: str
    baseline: str
    quantification: float
    offsets: Dict[str, float]
    sensing_start: str
    orbit: str
    spacecraft: str
    tile: str
    grid: TileGrid
    # band -> resolution -> GDAL path of the JP2
    band_files: Dict[str, Dict[int, str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return os.path.basename(self.root.rstrip("/"))

    @property
    def spectral_bands(self) -> List[str]:
        return [band for band in SPECTRAL_BANDS if band in self.band_files]

    @property
    def datatake(self) -> Tuple[str, str, str]:
        return self.spacecraft, self.sensing_start, self.orbit

    def band_file(self, band: str, resolution: int) -> Tuple[str, int]:
        """The JP2 to read a band from for a target resolution: the product's own file at that
        resolution when it has one (L2A), else the band's native file."""
        files = self.band_files.get(band)
        if not files:
            available = ", ".join(self.spectral_bands + [b for b in CLASS_BANDS if b in self.band_files])
            raise LabelMigrationError(
                f"The {self.level} product '{self.source}' has no band {band} (it has {available})."
            )
        if resolution in files:
            return files[resolution], resolution
        native = NATIVE_RESOLUTION.get(band, min(files))
        chosen = native if native in files else min(files)
        return files[chosen], chosen

    def offset(self, band: str) -> float:
        return self.offsets.get(band, 0.0)


def parse_band_list(product: SafeProduct, bands: Optional[Sequence[str]], with_scl: bool = False) -> List[str]:
    """Band names in output order; the default is every spectral band the product has.

    with_scl appends the scene classification (L2A only) unless it is listed already.
    """
    chosen = []
    for band in bands or product.spectral_bands:
        name = band.strip().upper()
        if re.fullmatch(r"B\d", name):
            name = f"B0{name[1]}"
        if name not in NATIVE_RESOLUTION:
            raise LabelMigrationError(
                f"'{band}' is not a Sentinel-2 band; use names such as B02, B8A, B11 or SCL."
            )
        product.band_file(name, 10)  # raises when missing
        chosen.append(name)
    if with_scl and "SCL" not in chosen:
        if "SCL" not in product.band_files:
            raise LabelMigrationError(
                f"The {product.level} product '{product.source}' has no scene classification (SCL).")
        chosen.append("SCL")
    return chosen
