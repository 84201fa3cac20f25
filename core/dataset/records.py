"""One chip of an export, as the STAC catalogue, the GeoParquet index and the chip layer describe it."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from osgeo import osr

from .chips import ChipStats
from .pairs import PairSource
from .splits import ChipPlace

Ring = List[Tuple[float, float]]


@dataclass
class Chip:
    id: str
    pair: PairSource
    xoff: int
    yoff: int
    size: int
    stats: ChipStats
    place: ChipPlace
    crs: str                       # 'EPSG:32632', or the CRS's WKT when it has no EPSG code
    ring: Ring                     # the chip's outline in longitude/latitude, counter-clockwise, closed
    split: str = ""
    image: str = ""                # paths relative to the dataset folder
    label: str = ""
    mask: Optional[str] = None
    class_pixels: Dict[int, int] = field(default_factory=dict)  # label value -> pixels in the chip

    def provenance(self, score_columns) -> Dict[str, object]:
        """Where the chip comes from: its source label, scene, time offset, cloud, shift and change scores."""
        values: Dict[str, object] = {
            "source_label": self.pair.label, "scene": self.pair.row.get("scene") or None,
            "offset_days": self.pair.number("offset_days"), "cloud_fraction": self.stats.cloud,
            "shadow_fraction": self.stats.shadow, "nodata_fraction": round(self.stats.nodata, 6),
            "footprint_cloud_pct": self.pair.number("footprint_cloud_pct"),
        }
        for column in score_columns:
            values[column] = self.pair.number(column)
        return values


def crs_name(wkt: str) -> str:
    """'EPSG:n' for a CRS with an EPSG code, else its WKT."""
    srs = osr.SpatialReference()
    if srs.ImportFromWkt(wkt) != 0:
        return wkt
    srs.AutoIdentifyEPSG()
    code, authority = srs.GetAuthorityCode(None), srs.GetAuthorityName(None)
    return f"{authority}:{code}" if code and authority else wkt


class LonLat:
    """Transforms a CRS's coordinates to longitude/latitude (WGS 84, x = longitude)."""

    def __init__(self, wkt: str):
        source = osr.SpatialReference()
        source.ImportFromWkt(wkt)
        source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        target = osr.SpatialReference()
        target.ImportFromEPSG(4326)
        target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        self.transform = osr.CoordinateTransformation(source, target)
        self.metres_per_unit = 111320.0 if source.IsGeographic() else (source.GetLinearUnits() or 1.0)

    def ring(self, bounds) -> Ring:
        """The box's outline (4 points per side, so that a long side's curve is followed), counter-clockwise."""
        minx, miny, maxx, maxy = bounds
        steps = [i / 4.0 for i in range(4)]
        points = ([(minx + (maxx - minx) * t, miny) for t in steps]
                  + [(maxx, miny + (maxy - miny) * t) for t in steps]
                  + [(maxx - (maxx - minx) * t, maxy) for t in steps]
                  + [(minx, maxy - (maxy - miny) * t) for t in steps])
        ring = [tuple(self.transform.TransformPoint(x, y)[:2]) for x, y in points]
        return ring + [ring[0]]


def ring_box(ring: Ring) -> Tuple[float, float, float, float]:
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)
