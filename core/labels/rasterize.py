"""Burn vector labels by class onto a reference raster's grid (later classes paint over earlier ones)."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, ogr, osr

from .class_colours import encode_rgb
from .class_config import ClassConfig
from ..util.limits import check_pixels
from ..util.outputs import atomic_outputs, check_output_path
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import require_georeferenced
from ..util.raster_read import open_raster, row_strips, strip_height_for
from ..util.raster_write import LABEL_BAND_NAME, color_table_from, create_gtiff

ClassGeometries = Sequence[Tuple[ClassConfig, Sequence[str]]]  # (class, WKT geometries in srs_wkt)


def rasterize_classes(reference_path: str, output: str, classes: ClassGeometries, srs_wkt: str,
                      colours: Dict[int, Tuple[int, int, int]], rgb_output: Optional[str] = None,
                      all_touched: bool = False, progress: Optional[ProgressCallback] = None,
                      is_cancelled: Optional[CancelCheck] = None) -> Dict[int, int]:
    """Write a uint8 class raster on the reference grid (0 = no class) with a colour table, and
    optionally its RGB encoding (each class in its encoding colour). Returns pixels per class."""
    steps = Steps(progress, is_cancelled)
    targets = [output] + ([rgb_output] if rgb_output else [])
    for target in targets:
        check_output_path(target, [reference_path])
    with gdal_errors():
        reference = open_raster(reference_path, "reference raster")
        check_pixels(reference.RasterXSize, reference.RasterYSize, f"The reference raster '{reference_path}'")
        srs, transform = require_georeferenced(reference, reference_path, "reference raster")
        geometry_srs = osr.SpatialReference()
        geometry_srs.ImportFromWkt(srs_wkt)
        geometry_srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        width, height = reference.RasterXSize, reference.RasterYSize
        with atomic_outputs(*targets) as temporaries:
            out = create_gtiff(temporaries[0], width, height, 1, gdal.GDT_Byte, srs.ExportToWkt(), transform)
            band = out.GetRasterBand(1)
            band.SetDescription(LABEL_BAND_NAME)
            band.SetColorTable(color_table_from(colours))
            band.SetColorInterpretation(gdal.GCI_PaletteIndex)
            band.Fill(0)
            memory = ogr.GetDriverByName("Memory").CreateDataSource("classes")
            for number, (entry, geometries) in enumerate(classes):
                steps.check()
                layer = memory.CreateLayer(f"class_{entry.index}", srs=geometry_srs)
                for wkt in geometries:
                    feature = ogr.Feature(layer.GetLayerDefn())
                    feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
                    layer.CreateFeature(feature)
                options = ["ALL_TOUCHED=TRUE"] if all_touched else []
                gdal.RasterizeLayer(out, [1], layer, burn_values=[entry.index], options=options)
                steps.report(0.8 * (number + 1) / max(1, len(classes)))
            out.FlushCache()
            counts = _counts_and_rgb(out, temporaries[1] if rgb_output else None, [c for c, _ in classes],
                                     srs.ExportToWkt(), transform)
            out = None
            steps.report(1.0)
    return counts


def _counts_and_rgb(classes_dataset: gdal.Dataset, rgb_path: Optional[str], config, srs_wkt, transform):
    width, height = classes_dataset.RasterXSize, classes_dataset.RasterYSize
    rgb = create_gtiff(rgb_path, width, height, 3, gdal.GDT_Byte, srs_wkt, transform) if rgb_path else None
    if rgb is not None:
        for number, interpretation in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand), 1):
            rgb.GetRasterBand(number).SetColorInterpretation(interpretation)
    counts = np.zeros(256, np.int64)
    for row, rows in row_strips(height, strip_height_for(classes_dataset, width * 4)):
        values = classes_dataset.GetRasterBand(1).ReadAsArray(0, row, width, rows)
        counts += np.bincount(values.ravel(), minlength=256)
        if rgb is not None:
            encoded = encode_rgb(values, config)
            for number in range(3):
                rgb.GetRasterBand(number + 1).WriteArray(encoded[number], 0, row)
    if rgb is not None:
        rgb.FlushCache()
    return {value: int(count) for value, count in enumerate(counts) if count}
