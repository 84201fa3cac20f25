"""One label's work (migrate_label): geocode it when it is a PNG/JPEG, search scenes around its date,
rate one candidate per datatake, crop the best into the pair (published atomically) and verify it."""
import os
import shutil
import uuid
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

from osgeo import gdal, ogr

from ..labels.crop import CropResult, crop_scene
from ..labels.footprint import WGS84, label_footprint
from ..labels.geocode import geocode_mask
from ..landsat.names import is_landsat_collection
from ..quality.pair_quality import assess_pair, source_image_for
from ..search.base import FootprintQuery
from ..search.matching import search_scenes
from ..util.errors import Cancelled, LabelMigrationError
from ..util.outputs import atomic_outputs
from ..util.paths import path_inside
from ..util.progress import CancelCheck, ProgressCallback, Steps
from ..util.gdal_settings import gdal_errors
from ..util.raster_grid import grid_difference
from ..util.raster_read import open_raster
from .cloud_masks import mask_for_complete_pair, write_cloud_mask
from .match_table import ALREADY_DONE, COLUMNS
from .options import DOWNLOAD_BACKENDS, DOWNLOAD_CANDIDATES, LabelTask
from .pair_files import mask_path, pair_paths, pair_stem
from .rating import rate
from .rows import match_row, one_line
from .scenes import Candidate, datatakes, fetch, search_backend
from .scl_rating import LabelPlacements


@dataclass
class LabelOutcome:
    """What migrate_label returns: the label's matches.csv row and what footprints.gpkg and the run's
    warnings need besides."""
    row: Optional[Dict[str, str]] = None
    footprint_wkt: str = ""  # the label's footprint, EPSG:4326
    tile: str = ""  # the chosen scene's tiles, joined by '+'
    warnings: List[str] = field(default_factory=list)
    scene: Optional[dict] = None  # the chosen scene's record for the scenes layer (pairs made in this run)


def verify_pair(image: str, label: str) -> Optional[str]:
    """None when image and label are complete rasters on one grid, else what is wrong.

    Every block is read (checksums), so a truncated file fails here rather than in training.
    """
    if not (os.path.isfile(image) and os.path.isfile(label)):
        return "the image or the label of the pair is missing"
    try:
        with gdal_errors():
            first, second = gdal.Open(image), gdal.Open(label)
            difference = grid_difference(first, second, require_crs=True)
            if difference:
                return f"image and label are not on one grid: {difference}"
            if first.RasterCount < 1 or second.RasterCount != 1:
                return f"the image has {first.RasterCount} bands and the label {second.RasterCount} (expected 1)"
            for dataset in (first, second):
                for index in range(1, dataset.RasterCount + 1):
                    dataset.GetRasterBand(index).Checksum()
    except RuntimeError as error:
        return f"the pair cannot be read completely ({str(error).strip()})"
    return None


def migrate_label(task: LabelTask, progress: Optional[ProgressCallback] = None,
                  is_cancelled: Optional[CancelCheck] = None) -> LabelOutcome:
    """Migrate one label; ``task`` is plain, frozen data, so the function runs in a thread, a process
    or on a Dask worker alike. Only Cancelled is raised: every other failure is the row's reason."""
    steps = Steps(progress, is_cancelled)
    name, folder = task.label, task.output_folder
    outcome = LabelOutcome()
    try:
        image, label_out = pair_paths(folder, name)
    except LabelMigrationError as error:
        outcome.row = match_row(name, status="failed", reason=one_line(error))
        return outcome
    relative = {"image": os.path.relpath(image, folder), "label_raster": os.path.relpath(label_out, folder)}
    with gdal_errors():
        if verify_pair(image, label_out) is None:
            previous = task.previous or {}
            row = match_row(name, **{k: previous.get(k, "") for k in COLUMNS if k != "label"})
            row.update(status="skipped", reason=ALREADY_DONE, **relative)
            if not row["scene"]:
                row["scene"] = (open_raster(image, "image").GetMetadata() or {}).get("SOURCE_SCENE", "")
            outcome.row = row
            outcome.footprint_wkt = _footprint_wkt(label_out)
            mask = mask_path(folder, name)
            if task.settings.cloud_masks and not os.path.isfile(mask):
                outcome.warnings.extend(mask_for_complete_pair(task, image, mask, steps))
            return outcome
        work = os.path.join(folder, ".work", f"{pair_stem(name)}-{uuid.uuid4().hex[:8]}")
        try:
            if task.problem:
                raise LabelMigrationError(task.problem)
            label_path = _georeferenced_label(task, steps)
            footprint = label_footprint(label_path, WGS84)
            outcome.footprint_wkt = footprint.wkt
            if not task.date:
                raise LabelMigrationError(task.date_problem or f"The label '{name}' has no date.")
            outcome.row = _migrate(task, label_path, footprint.wkt, image, label_out, work, steps, outcome)
            if outcome.row["status"] == "done":
                outcome.row.update(relative)
        except Cancelled:
            raise
        except (LabelMigrationError, RuntimeError, OSError, ValueError) as error:
            outcome.row = match_row(name, status="failed", reason=one_line(error))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return outcome


def _footprint_wkt(path: str) -> str:
    try:
        return label_footprint(path, WGS84).wkt
    except LabelMigrationError:
        return ""


def _georeferenced_label(task: LabelTask, steps: Steps) -> str:
    """The label itself, or its copy geocoded onto its reference (OUTPUT_FOLDER/geocoded/)."""
    if not task.reference:
        return task.path  # checked while listing (label_problem)
    output = path_inside(task.output_folder, "geocoded", f"{pair_stem(task.label)}.tif")
    geocode_mask(task.path, task.reference, output, validity_band=True, is_cancelled=steps.cancelled)
    return output


def _migrate(task: LabelTask, label_path: str, footprint_wkt: str, image: str, label_out: str, work: str,
             steps: Steps, outcome: LabelOutcome) -> Dict[str, str]:
    settings, name, date = task.settings, task.label, task.date
    matches = search_scenes([FootprintQuery(name, footprint_wkt, date)], search_backend(settings),
                            settings.days_before, settings.days_after, settings.max_cloud,
                            settings.product, settings.collection, is_cancelled=steps.cancelled,
                            warn=outcome.warnings.append)
    if not matches:
        cloud = f" and at most {settings.max_cloud:g}% cloud" if settings.max_cloud is not None else ""
        return match_row(name, status="no scene", reason=(
            f"No {'Landsat' if is_landsat_collection(settings.collection) else settings.product or 'Sentinel-2'}"
            f" scene from {settings.days_before:g} days before to "
            f"{settings.days_after:g} days after {date.isoformat()}{cloud} covers the label."))
    candidates = datatakes(matches)
    limit = settings.max_candidates or (DOWNLOAD_CANDIDATES if settings.backend in DOWNLOAD_BACKENDS
                                        else len(candidates))
    rated = sorted(candidates, key=lambda c: c.key())[:max(1, limit)]
    os.makedirs(work, exist_ok=True)
    notes = []
    placements = LabelPlacements(label_path)  # the label placed once per tile grid, for all its candidates
    for index, candidate in enumerate(rated):
        steps.check()
        try:
            fetch(candidate, settings, task.output_folder, work, steps)
            note = rate(candidate, label_path, settings, os.path.join(work, f"c{index}"), steps, placements)
            if note:
                notes.append(note)
        except Cancelled:
            raise
        except (LabelMigrationError, RuntimeError, OSError) as error:
            candidate.problem = one_line(error)
    best = min(rated, key=lambda c: c.key())
    if best.problem is not None:
        return match_row(name, scene=best.scene.title, status="failed",
                         reason="No candidate scene could be read: " + "; ".join(
                             f"{c.scene.title}: {c.problem}" for c in rated))
    if best.crop is not None:
        result = _publish_crop(best.crop, image, label_out)
    else:
        # the run checked its output folder (core.migration.checks.check_output_folder): no input lies there
        result = crop_scene(best.path, label_path, image, label_out, band_names=best.band_names,
                            other_tiles=best.other_tiles, is_cancelled=steps.cancelled, outputs_checked=True)
    outcome.warnings.extend(result.warnings)
    outcome.tile = "+".join(scene.tile for scene in best.scenes)
    problem = verify_pair(image, label_out)
    common = dict(scene=best.scene.title, datetime=best.scene.datetime.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  offset_days=best.offset_days, scene_cloud_pct=best.scene.cloud_cover,
                  footprint_cloud_pct=best.footprint_cloud, footprint_shadow_pct=best.footprint_shadow,
                  nodata_pct=result.nodata_percent,
                  coverage_pct=result.covered_percent)
    if problem:
        for path in (image, label_out):
            if os.path.exists(path):
                os.unlink(path)
        return match_row(name, status="failed", reason=f"The pair failed verification: {problem}.", **common)
    outcome.scene = _scene_record(best)
    if settings.cloud_masks:
        try:
            warning = write_cloud_mask(best, image, mask_path(task.output_folder, name), settings, work, steps)
        except Cancelled:
            raise
        except (LabelMigrationError, RuntimeError, OSError) as error:
            warning = f"No cloud mask was written: {one_line(error)}"
        if warning:
            outcome.warnings.append(warning)
    quality, warnings = assess_pair(image, label_out, mask_path(task.output_folder, name) if settings.cloud_masks
                                    else None, source_image_for(task.path, task.reference, settings.source_images),
                                    settings.coregister, settings.min_shift_confidence)
    outcome.warnings.extend(warnings)
    return match_row(name, status="done", reason=" ".join(dict.fromkeys(notes)), **common, **quality)


def _publish_crop(crop: CropResult, image: str, label: str) -> CropResult:
    """The crop rating made for the cloud model (same scene, label, bands and tiles as the pair's)
    published as the pair, together, instead of cropping the scene a second time."""
    for path in (image, label):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_outputs(image, label) as temporaries:
        for source, temporary in zip((crop.image, crop.label), temporaries):
            os.replace(source, temporary)
    return replace(crop, image=image, label=label)


def _scene_record(best: Candidate) -> dict:
    """The chosen scene for the scenes layer: its fields and its footprint (tiles of a mosaic united)."""
    geometry = None
    for scene in best.scenes:
        if scene.footprint_wkt:
            part = ogr.CreateGeometryFromWkt(scene.footprint_wkt)
            geometry = part if geometry is None else geometry.Union(part)
    return {"scene": best.scene.title, "datetime": best.scene.datetime.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tile": "+".join(scene.tile for scene in best.scenes), "product": best.scene.level or "",
            "scene_cloud_pct": best.scene.cloud_cover, "backend": best.scene.backend,
            "footprint_wkt": geometry.ExportToWkt() if geometry is not None else ""}
