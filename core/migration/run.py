"""migratelabels: a whole label set moved onto Sentinel-2, one aligned pair per label.

``prepare_tasks`` checks the options, the labels and the output folder and makes one frozen LabelTask
per label; ``migrate_labels`` runs them (core.migration.executor: a local thread pool or Dask workers
run the same core.migration.pair.migrate_label) and writes matches.csv, footprints.gpkg and the QA
report. A pair is written atomically, so a re-run skips the pairs that exist and verify, and never
trusts a half-written file.
"""
import os
import re
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..util.dates import compile_date_pattern
from ..util.errors import Cancelled, LabelMigrationError
from ..util.progress import CancelCheck, ProgressCallback, Steps
from .checks import check_output_folder, cloud_model_note, label_problem, settle_options
from .executor import run_tasks
from .footprints import FOOTPRINTS_NAME, write_footprints
from .labels import LabelsArgument, find_labels, label_date, label_place, read_dates_csv
from .match_table import MATCHES_NAME, read_matches, write_matches
from .options import LabelTask, MigrationOptions, mask_source
from .pair_files import mask_path, pair_paths
from .scenes import forget_backends, search_backend

# temporaries of core.util.outputs.atomic_outputs: '.<stem>.<random>.part<ext>' (plus GDAL sidecars)
_TEMPORARY = re.compile(r"^\..+\.part\.[A-Za-z0-9]+(\.aux\.xml|\.msk|\.ovr)?$")


@dataclass
class MigrationResult:
    output_folder: str
    matches: str
    footprints: str
    report: Optional[str]
    rows: List[Dict[str, str]]
    pairs: int  # done or skipped (complete and verified)
    failed: int
    warnings: List[str] = field(default_factory=list)
    scenes_layer: Optional[str] = None  # footprints.gpkg|layername=scenes: the chosen scenes' footprints
    mask_source: Optional[str] = None  # what the cloud masks were made from; None: no masks were asked for


def migrate_labels(labels: LabelsArgument, options: MigrationOptions, output_folder: str,
                   progress: Optional[ProgressCallback] = None,
                   is_cancelled: Optional[CancelCheck] = None) -> MigrationResult:
    """Migrate every label (a folder or a list of files) into output_folder; see the module doc.

    Nothing is written before the options, the labels and the output folder have been checked;
    the pair folders appear with their first pair. A run in which no label got a pair still writes
    matches.csv, footprints.gpkg and the report (they say why): see no_pairs_message."""
    steps = Steps(progress, is_cancelled)
    warnings: List[str] = []
    tasks = prepare_tasks(labels, options, output_folder, warnings)
    settings, folder = tasks[0].settings, tasks[0].output_folder
    try:
        clean_temporaries(folder)
        steps.report(0.02)
        outcomes = run_tasks(tasks, options, steps.sub(0.02, 0.9))
    finally:
        forget_backends(settings.run)
        shutil.rmtree(os.path.join(folder, ".work"), ignore_errors=True)
    rows = [outcome.row for outcome in outcomes]
    warnings += [f"{row['label']}: {w}" for outcome, row in zip(outcomes, rows) for w in outcome.warnings]
    matches = write_matches(os.path.join(output_folder, MATCHES_NAME), rows)
    footprints = write_footprints(os.path.join(output_folder, FOOTPRINTS_NAME), outcomes)
    source = mask_source(options, settings.product)
    if source is not None and not settings.cloud_masks:
        warnings.append("No cloud masks were written: no cloud model is installed and L1C products have no "
                        "SCL band (give CLOUD_MODEL).")
        source = None
    paired = [row["label"] for row in rows if row["status"] in ("done", "skipped")]
    if source is not None and paired and not any(os.path.isfile(mask_path(folder, label)) for label in paired):
        warnings.append("No cloud masks were written: each pair's warning says why.")
        source = None  # the summary must not say masks were made from the model when none was
    steps.report(0.92)
    report = None
    if options.write_report:
        try:
            report, warning = _write_report(output_folder, rows, steps.sub(0.92, 1.0))
        except Cancelled:
            raise
        except LabelMigrationError as error:  # the pairs and matches.csv stand without it
            report, warning = None, f"No QA report was written: {error}"
        if warning:
            warnings.append(warning)
    steps.report(1.0)
    return MigrationResult(
        output_folder=output_folder, matches=matches, footprints=footprints, report=report, rows=rows,
        pairs=sum(row["status"] in ("done", "skipped") for row in rows),
        failed=sum(row["status"] == "failed" for row in rows), warnings=warnings,
        scenes_layer=footprints + "|layername=scenes", mask_source=source)


def no_pairs_message(result: MigrationResult) -> Optional[str]:
    """Why a run that made no pair failed, and where to read the details; None when it made a pair."""
    if result.pairs:
        return None
    counts = {status: sum(row["status"] == status for row in result.rows) for status in ("failed", "no scene")}
    first = next((row for row in result.rows if row["reason"]), None)
    where = f"'{result.matches}'" + (f" and the report '{result.report}'" if result.report else "")
    return (f"No label was migrated: {_labels(counts['failed'])} failed and {_labels(counts['no scene'])} found "
            f"no scene" + (f" (first: '{first['label']}': {first['reason']})" if first else "")
            + f". The reasons for every label are in {where}.")


def _labels(count: int) -> str:
    return f"{count} label" + ("" if count == 1 else "s")


def prepare_tasks(labels: LabelsArgument, options: MigrationOptions, output_folder: str,
                  warnings: Optional[List[str]] = None) -> List[LabelTask]:
    """Check the options, the labels and the output folder, and list one frozen task per label.

    Writes nothing. Raises when no label can be migrated at all; ``warnings`` receives what the user
    should know besides (unreadable products of a local archive, an unreadable earlier matches.csv)."""
    warn = warnings.append if warnings is not None else (lambda _text: None)
    if not output_folder:
        raise LabelMigrationError("No output folder was given.")
    settings = settle_options(options)
    note = cloud_model_note(options)
    if note:
        warn(note)
    pattern = compile_date_pattern(options.date_pattern)
    csv_dates = read_dates_csv(options.dates_csv) if options.dates_csv else None
    items = find_labels(labels)
    output_folder = os.path.abspath(output_folder)
    check_output_folder(output_folder, [path for item in items for path in (item.path, item.reference) if path])
    for item in items:
        item.problem = item.problem or label_problem(item)
        if item.stem != item.name and not item.problem:
            warn(f"The label '{item.name}' cannot be a file name as it is: its pair is images/{item.stem}.tif.")
    previous = read_matches(os.path.join(output_folder, MATCHES_NAME), warn)
    tasks = []
    for item in items:
        date, date_problem = label_date(item, options, csv_dates, pattern)
        tasks.append(LabelTask(
            label=item.name, path=os.path.abspath(item.path),
            reference=os.path.abspath(item.reference) if item.reference else None, problem=item.problem,
            date=date, date_problem=date_problem, settings=settings, output_folder=output_folder,
            previous=previous.get(item.name), place=() if item.problem else label_place(item)))
    _refuse_when_no_label_can_start(tasks)
    if options.backend == "local":  # indexed once, here, so that unreadable products are named once
        for message in search_backend(settings).left_out():
            warn(message)
    return tasks


def _refuse_when_no_label_can_start(tasks: Sequence[LabelTask]) -> None:
    """A run in which every label would fail before its search ends here, writing nothing (labels
    whose pair an earlier run made are skipped, not failed)."""
    doomed = [task for task in tasks if (task.problem or not task.date) and not _has_pair(task)]
    if len(doomed) < len(tasks):
        return
    reasons = "; ".join(f"{task.label}: {task.problem or task.date_problem}" for task in doomed[:3])
    more = f" (and {len(doomed) - 3} more)" if len(doomed) > 3 else ""
    raise LabelMigrationError(f"No label can be migrated, so nothing was written. {reasons}{more}")


def _has_pair(task: LabelTask) -> bool:
    try:
        return all(os.path.isfile(path) for path in pair_paths(task.output_folder, task.label))
    except LabelMigrationError:
        return False


def clean_temporaries(output_folder: str) -> List[str]:
    """Remove what an interrupted run left: atomic-write temporaries in images/ and labels/ and the
    .work folder. (Two runs must not write into one output folder at the same time.)"""
    removed = []
    for sub in ("images", "labels", "geocoded", "masks"):
        folder = os.path.join(output_folder, sub)
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if _TEMPORARY.match(name):
                os.unlink(os.path.join(folder, name))
                removed.append(os.path.join(folder, name))
    shutil.rmtree(os.path.join(output_folder, ".work"), ignore_errors=True)
    return removed


def _write_report(output_folder: str, rows, steps: Steps) -> Tuple[Optional[str], Optional[str]]:
    try:
        from . import qa_report
    except ImportError:
        return None, "The QA report module (core/migration/qa_report.py) is not installed; no report.html was written."
    return qa_report.write_report(output_folder, rows, progress=steps.report, is_cancelled=steps.cancelled), None
