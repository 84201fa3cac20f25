"""Crop a scene to a label so that image and label form an aligned training pair.

The image keeps the scene's CRS and native pixel grid (no resampling): the output window is the
label footprint's bounding box snapped outward to scene pixels, only that window is read, and
pixels outside the footprint become nodata. The label is warped onto exactly that grid.
"""
import logging
import os
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

import numpy as np
from osgeo import gdal, ogr

from ..sentinel2.product_bands import product_reflectance
from ..util.errors import LabelMigrationError
from ..util.gdal_settings import gdal_errors
from ..util.outputs import atomic_outputs, check_output_path
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.raster_grid import GeoTransform, raster_outline, require_georeferenced, window_transform
from ..util.raster_read import band_names as band_descriptions
from ..util.raster_read import (nan_as_nodata, open_raster, read_check, row_strips, strip_height_for,
                                valid_mask, validity_band_index)
from ..util.raster_write import LABEL_BAND_NAME, copy_color_table, create_gtiff, default_nodata, gdal_type, numpy_dtype
from .crop_window import (Window, check_extents_overlap, check_window_size, densified, footprint_window,
                          no_overlap_error)
from .footprint import GEOCODE_FIRST, label_name, valid_outline
from .scene_source import open_scene_source

LOG = logging.getLogger(__name__)


@dataclass
class CropResult:
    image: str
    label: str
    window: Window
    transform: GeoTransform
    covered_percent: float  # share of the label footprint that lies inside the scene
    nodata_percent: float  # share of the label's valid pixels without image data
    label_pixels: int
    warnings: List[str]


def _memory_raster(width: int, height: int, bands: int, data_type: int, transform, srs_wkt: str) -> gdal.Dataset:
    dataset = gdal.GetDriverByName("MEM").Create("", width, height, bands, data_type)
    dataset.SetGeoTransform(list(transform))
    dataset.SetProjection(srs_wkt)
    return dataset


def _rasterize(geometry: ogr.Geometry, width: int, height: int, transform, srs) -> np.ndarray:
    """Pixels touched by geometry (all touched, so the image covers every label pixel)."""
    target = _memory_raster(width, height, 1, gdal.GDT_Byte, transform, srs.ExportToWkt())
    memory = ogr.GetDriverByName("Memory").CreateDataSource("footprint")
    layer = memory.CreateLayer("footprint", srs=srs, geom_type=ogr.wkbMultiPolygon)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(geometry)
    layer.CreateFeature(feature)
    gdal.RasterizeLayer(target, [1], layer, burn_values=[1], options=["ALL_TOUCHED=TRUE"])
    return target.GetRasterBand(1).ReadAsArray() != 0


def _warp_label(label: gdal.Dataset, label_path: str, window: Window, transform, srs_wkt: str,
                resampling: str) -> Tuple[np.ndarray, np.ndarray]:
    """The label's class values and validity on the window grid."""
    validity = validity_band_index(label)
    data_type = label.GetRasterBand(1).DataType
    target = _memory_raster(window.width, window.height, 2, data_type, transform, srs_wkt)
    options = dict(resampleAlg=resampling, errorThreshold=0, multithread=False)
    with read_check(label_path, "label"):
        if validity:
            source = gdal.Translate("", label, format="VRT", bandList=[1, validity])
            gdal.Warp(target, source, **options)
        else:
            source = gdal.Translate("", nan_as_nodata(label), format="VRT", bandList=[1])
            gdal.Warp(target, source, dstAlpha=True, **options)
    values = target.GetRasterBand(1).ReadAsArray()
    valid = target.GetRasterBand(2).ReadAsArray() != 0
    return values, valid


def _label_nodata(band: gdal.Band, values: np.ndarray, label_path: str) -> float:
    declared = band.GetNoDataValue()
    if declared is not None:
        return declared
    dtype = values.dtype
    top = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else None
    if top is None:
        return float("nan")
    used = set(np.unique(values).tolist())
    for candidate in range(top, max(-1, top - 1024), -1):
        if candidate not in used:
            return float(candidate)
    raise LabelMigrationError(f"The label '{label_path}' uses every value of its data type; "
                              "no value is left for nodata.")


def bands_by_name(dataset: gdal.Dataset, scene_path: str, names: Sequence[str]) -> List[int]:
    """1-based band numbers of the bands whose descriptions are names (case-insensitive)."""
    described = {name.lower(): index for index, name in enumerate(band_descriptions(dataset), start=1) if name}
    missing = [name for name in names if name.strip().lower() not in described]
    if missing:
        raise LabelMigrationError(
            f"The scene '{scene_path}' has no band named {', '.join(missing)} "
            f"(its bands: {', '.join(band_descriptions(dataset)) or 'unnamed'})."
        )
    return [described[name.strip().lower()] for name in names]


def crop_scene(scene_path: str, label_path: str, output_image: str, output_label: str,
               bands: Optional[Sequence[int]] = None, label_resampling: str = "near",
               band_names: Optional[Sequence[str]] = None, other_tiles: Sequence[str] = (),
               require_data: bool = False, progress: Optional[ProgressCallback] = None,
               is_cancelled: Optional[CancelCheck] = None, outputs_checked: bool = False) -> CropResult:
    """Write the scene pixels under the label and the label on the same grid.

    The scene is any GDAL raster or a Sentinel-2 SAFE product (folder, zip or MTD xml; other
    tiles of the same datatake are mosaicked in). Bands are picked by number (bands) or by name
    (band_names: band descriptions, or Sentinel-2 band names for SAFE products). require_data
    refuses a pair whose image has no data under any label pixel (nothing is written). outputs_checked:
    the caller has made sure that the outputs overwrite no input and can be written (a migration run checks
    its output folder once), so that check is not made again here.
    """
    steps = Steps(progress, is_cancelled)
    if os.path.realpath(output_image) == os.path.realpath(output_label):
        raise LabelMigrationError("The output image and the output label must be different files.")
    for output, role in () if outputs_checked else ((output_image, "output image"), (output_label, "output label")):
        check_output_path(output, [scene_path, *other_tiles, label_path], role)
    with gdal_errors():
        label = open_raster(label_path, "label")
        source = open_scene_source(scene_path, other_tiles, band_names, label, label_path)
        with source as (scene_raster, stacked, corner):
            result = _crop(scene_raster, scene_path, label, label_path, output_image, output_label,
                           stacked or bands, None if stacked else band_names, label_resampling, require_data, steps)
    result.window.col += corner[0]
    result.window.row += corner[1]
    return result


def _crop(scene_raster: str, scene_path: str, label: gdal.Dataset, label_path: str, output_image: str,
          output_label: str,
          bands: Optional[Sequence[int]], band_names: Optional[Sequence[str]], label_resampling: str,
          require_data: bool, steps: Steps) -> CropResult:
    scene = open_raster(scene_raster, "scene")
    scene_srs, scene_transform = require_georeferenced(scene, scene_path, "scene")
    label_srs, label_transform = require_georeferenced(label, label_path, "label", GEOCODE_FIRST)
    if band_names:
        band_list = bands_by_name(scene, scene_path, band_names)
    else:
        band_list = list(bands) if bands else list(range(1, scene.RasterCount + 1))
    for index in band_list:
        if not 1 <= index <= scene.RasterCount:
            raise LabelMigrationError(f"The scene '{scene_path}' has no band {index} (it has {scene.RasterCount}).")

    grid = label_on_grid(label, label_path, label_srs, label_transform, scene_srs, scene_transform,
                         (scene.RasterXSize, scene.RasterYSize), scene_path, label_resampling)
    steps.report(0.15)
    with atomic_outputs(output_image, output_label) as (image_temporary, label_temporary):
        image_missing = _write_image(scene, scene_path, image_temporary, band_list, grid, steps.sub(0.15, 0.95))
        if require_data and grid.label_pixels and image_missing >= grid.label_pixels:
            raise LabelMigrationError(
                f"The scene '{scene_path}' has no data under the label '{label_path}' (every pixel there is "
                f"nodata), so the pair would hold no image. Choose a scene that covers the label with data.")
        _write_label(label, label_path, label_temporary, grid, scene_path)
        steps.report(1.0)
    return crop_result(output_image, output_label, grid, image_missing)


def crop_result(image: str, label: str, grid: "LabelGrid", image_missing: int) -> CropResult:
    """What a crop of the grid's window returns; image_missing: the label pixels without image data."""
    warnings = list(grid.warnings)
    if grid.label_pixels == 0:
        warnings.append("No label pixel falls on the scene grid (the label is smaller than one scene pixel).")
    return CropResult(
        image=image, label=label, window=replace(grid.window), transform=grid.transform,
        covered_percent=grid.covered_percent,
        nodata_percent=100.0 * image_missing / grid.label_pixels if grid.label_pixels else 100.0,
        label_pixels=grid.label_pixels, warnings=warnings,
    )


@dataclass
class LabelGrid:
    """The label on a scene's pixel grid: the window under its footprint, the footprint's pixels (inside)
    and the label's values and valid pixels there. It depends on the label and the grid only, so the
    candidates of one tile and the pair share it."""
    window: Window
    transform: GeoTransform
    srs_wkt: str
    inside: np.ndarray
    label_values: np.ndarray
    label_valid: np.ndarray  # inside the footprint too
    label_pixels: int
    covered_percent: float
    warnings: List[str]


def label_on_grid(label: gdal.Dataset, label_path: str, label_srs, label_transform, scene_srs, scene_transform,
                  scene_size: Tuple[int, int], scene_path: str, label_resampling: str = "near",
                  outline: Optional[ogr.Geometry] = None) -> LabelGrid:
    """Place the label on the scene grid (scene_size columns, rows): see LabelGrid. outline: the label's
    valid outline when the caller has it already (core.labels.footprint.valid_outline)."""
    scene_outline = raster_outline(scene_transform, *scene_size)
    check_extents_overlap(label, label_path, label_srs, label_transform, scene_srs, scene_outline, scene_path)
    footprint = densified(outline or valid_outline(label, label_path), label_srs, scene_srs)
    covered = footprint.Intersection(scene_outline)
    window = footprint_window(footprint, scene_transform, *scene_size)
    if window is None or covered is None or covered.IsEmpty() or covered.GetArea() <= 0:
        raise no_overlap_error(label_path, scene_path)
    check_window_size(window, scene_path, label_path,
                      bytes_per_pixel=4 + 5 * numpy_dtype(label.GetRasterBand(1).DataType).itemsize)
    covered_percent = 100.0 * covered.GetArea() / footprint.GetArea()
    warnings = []
    if covered_percent < 99.999:
        warnings.append(
            f"The label '{label_name(label_path)}' straddles the edge of the scene: only "
            f"{covered_percent:.1f}% of its footprint is covered; the part outside is left out."
        )
    transform = window_transform(scene_transform, window.col, window.row)
    srs_wkt = scene_srs.ExportToWkt()
    inside = _rasterize(footprint, window.width, window.height, transform, scene_srs)
    label_values, label_valid = _warp_label(label, label_path, window, transform, srs_wkt, label_resampling)
    label_valid &= inside
    return LabelGrid(window=window, transform=transform, srs_wkt=srs_wkt, inside=inside, label_values=label_values,
                     label_valid=label_valid, label_pixels=int(label_valid.sum()), covered_percent=covered_percent,
                     warnings=warnings)


def label_output(label: gdal.Dataset, label_path: str, grid: LabelGrid) -> Tuple[np.ndarray, float]:
    """The pair's label raster values (nodata outside the label's valid pixels) and that nodata value."""
    nodata = _label_nodata(label.GetRasterBand(1), grid.label_values[grid.label_valid], label_path)
    return np.where(grid.label_valid, grid.label_values, nodata).astype(grid.label_values.dtype), nodata


def _product_scaling(scene: gdal.Dataset, band_list: List[int]) -> Optional[List[Tuple[float, float]]]:
    """(scale, offset) per band that a Sentinel-2 product's untagged DN carry (core.sentinel2.product_bands: its band
    files, GDAL's subdataset of it or a copy of that), for the pair image to declare, (1, 0) for its other bands (AOT,
    WVP); else None."""
    found = product_reflectance(scene, band_list)
    if found:
        LOG.info("The pair image declares the scale/offset of its Sentinel-2 DN: %s", found[1])
        return found[0]
    each = [product_reflectance(scene, [index]) for index in band_list]  # with L2A's AOT and WVP, not reflectance
    if not any(each):
        return None
    LOG.info("The pair image declares the scale/offset of its Sentinel-2 DN: %s", next(f[1] for f in each if f))
    return [f[0][0] if f else (1.0, 0.0) for f in each]


def _write_image(scene: gdal.Dataset, scene_path: str, path: str, band_list: List[int], grid: LabelGrid,
                 steps: Steps) -> int:
    """Stream the window strip by strip; return the label pixels that have no image data."""
    window, transform, srs_wkt, inside, label_valid = (grid.window, grid.transform, grid.srs_wkt, grid.inside,
                                                       grid.label_valid)
    first = scene.GetRasterBand(band_list[0])
    dtype = np.result_type(*[numpy_dtype(scene.GetRasterBand(i).DataType) for i in band_list])
    nodata = first.GetNoDataValue()
    if nodata is None:
        nodata = default_nodata(dtype)
    out = create_gtiff(path, window.width, window.height, len(band_list), gdal_type(dtype), srs_wkt, transform)
    product = _product_scaling(scene, band_list)
    for position, index in enumerate(band_list, start=1):
        source, target = scene.GetRasterBand(index), out.GetRasterBand(position)
        target.SetNoDataValue(nodata)
        target.SetDescription(source.GetDescription())
        target.SetColorInterpretation(source.GetColorInterpretation())
        if source.GetOffset() not in (None, 0.0) or source.GetScale() not in (None, 1.0):
            target.SetOffset(source.GetOffset() or 0.0)
            target.SetScale(source.GetScale() or 1.0)
        elif product:
            target.SetScale(product[position - 1][0])
            target.SetOffset(product[position - 1][1])
        if source.GetMetadata():
            target.SetMetadata(source.GetMetadata())
    out.SetMetadata({**(scene.GetMetadata() or {}), "SOURCE_SCENE": os.path.basename(scene_path)})
    missing = 0
    strip = strip_height_for(scene, window.width * len(band_list) * dtype.itemsize)
    for row, rows in row_strips(window.height, strip):
        with read_check(scene_path, "scene"):
            pixels = scene.ReadAsArray(window.col, window.row + row, window.width, rows, band_list=band_list)
            valid = valid_mask(scene, window.col, window.row + row, window.width, rows)
        pixels = pixels.reshape(len(band_list), rows, window.width).astype(dtype, copy=False)
        keep = inside[row:row + rows] & valid
        pixels[:, ~keep] = nodata
        for position in range(len(band_list)):
            out.GetRasterBand(position + 1).WriteArray(pixels[position], 0, row)
        missing += int((label_valid[row:row + rows] & ~valid).sum())
        steps.report((row + rows) / window.height)
    out.FlushCache()
    return missing


def _write_label(label: gdal.Dataset, label_path: str, path: str, grid: LabelGrid, scene_path: str) -> None:
    source = label.GetRasterBand(1)
    output, nodata = label_output(label, label_path, grid)
    out = create_gtiff(path, output.shape[1], output.shape[0], 1, source.DataType, grid.srs_wkt, grid.transform)
    band = out.GetRasterBand(1)
    band.SetNoDataValue(nodata)
    band.SetDescription(LABEL_BAND_NAME)
    copy_color_table(source, band)
    metadata = dict(label.GetMetadata() or {})
    metadata.update({"LABEL_SOURCE": os.path.basename(label_path), "SOURCE_SCENE": os.path.basename(scene_path)})
    out.SetMetadata(metadata)
    band.WriteArray(output)
    out.FlushCache()
