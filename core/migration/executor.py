"""Running the labels' work: a local thread pool or a Dask cluster, the labels in the order they lie
(LabelTask.place) so that neighbouring labels share the JPEG 2000 blocks decoded for the first of them,
and the outcomes handed back in the labels' own order. The local pool gives each thread a contiguous run
of that order (WorkRuns), so that the threads decode different blocks at once; on Dask each worker thread's
run is pinned to its worker (dask_runs)."""
import logging
import os
import threading
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Dict, List, Optional, Sequence, Tuple

from ..install.dependencies import require
from ..net.parallel_downloads import MAX_CONNECTIONS
from ..sentinel2.band_files import begin_reusing_band_files, end_reusing_band_files, reusing_band_files
from ..util import limits
from ..util.errors import Cancelled, LabelMigrationError
from ..util.progress import Steps
from ..util.gdal_settings import gdal_errors
from .checks import executor_kind
from .options import LabelTask, MigrationOptions
from .pair import LabelOutcome, migrate_label
from .rows import match_row, one_line
from .scenes import forget_backends

LOG = logging.getLogger(__name__)


def local_workers(options: MigrationOptions, tasks: int) -> int:
    """Threads for the local pool: the cores (or WORKERS, never more), and never more downloads at
    once than the catalogue allows."""
    cores = os.cpu_count() or 1
    workers = min(options.workers or cores, cores)
    if options.backend != "local":
        workers = min(workers, MAX_CONNECTIONS)
    return max(1, min(workers, tasks))


def work_order(tasks: Sequence[LabelTask]) -> List[int]:
    """The tasks' indexes in the order they are worked: by place (ties and unknown places by their order)."""
    return sorted(range(len(tasks)), key=lambda index: tasks[index].place)


def run_tasks(tasks: List[LabelTask], options: MigrationOptions, steps: Steps) -> List[LabelOutcome]:
    """migrate_label for every task, on the local pool or the Dask cluster; outcomes in task order."""
    if not tasks:
        return []
    order = work_order(tasks)
    if executor_kind(options.executor) == "dask":
        return _run_dask(tasks, order, options.executor.strip(), steps)
    outcomes: List[Optional[LabelOutcome]] = [None] * len(tasks)
    workers = local_workers(options, len(tasks))
    runs = WorkRuns(order, workers)
    stop = threading.Event()

    def work(worker: int) -> None:
        while not stop.is_set():
            index = runs.take(worker)
            if index is None:
                return
            outcomes[index] = migrate_label(tasks[index], None, steps.cancelled)

    # GDAL's exception switch is process-wide: keep it on for the whole pool so that no thread's
    # gdal_errors() block switches it off while another thread is inside its own
    with gdal_errors(), reusing_band_files(), ThreadPoolExecutor(workers, thread_name_prefix="migrate") as pool:
        pending = {pool.submit(work, worker) for worker in range(workers)}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
                steps.report(sum(o is not None for o in outcomes) / len(tasks))
        except BaseException:
            stop.set()
            wait(pending)  # running labels end (removing their temporaries) before the error leaves
            if steps.cancelled():
                raise _cancel_message(outcomes) from None
            raise
    return outcomes


def contiguous_runs(order: Sequence[int], count: int) -> List[List[int]]:
    """The work order cut into ``count`` contiguous runs of (nearly) equal length, in order."""
    size, extra = divmod(len(order), max(1, count))
    runs, start = [], 0
    for run in range(max(1, count)):
        end = start + size + (1 if run < extra else 0)
        runs.append(list(order[start:end]))
        start = end
    return runs


def dask_runs(order: Sequence[int], worker_threads: Dict[str, int]) -> List[Tuple[str, List[int]]]:
    """One contiguous run of the work order per Dask worker thread, each run pinned to its worker (address,
    label indexes): as with the local pool, a worker's threads decode neighbouring JPEG 2000 blocks once
    instead of every worker decoding the blocks of every place."""
    slots = [address for address in sorted(worker_threads) for _ in range(max(1, int(worker_threads[address])))]
    if not slots:
        return [("", list(order))]
    return [(address, run) for address, run in zip(slots, contiguous_runs(order, len(slots))) if run]


class WorkRuns:
    """The work order cut into one contiguous run per worker: each worker takes the labels of its own run
    in order, so the workers decode different JPEG 2000 blocks at the same time and each block mostly once
    (neighbouring labels of one run share them through the block cache). A worker whose run is done takes
    from the far end of the longest run left, so that no worker idles while labels remain."""

    def __init__(self, order: Sequence[int], workers: int):
        self._runs: List[deque] = [deque(run) for run in contiguous_runs(order, workers)]
        self._lock = threading.Lock()

    def take(self, worker: int) -> Optional[int]:
        """The next label for the worker, None when every label is taken."""
        with self._lock:
            own = self._runs[worker]
            if own:
                return own.popleft()
            longest = max(self._runs, key=len)
            return longest.pop() if longest else None


def _cancel_message(outcomes: Sequence[Optional[LabelOutcome]]) -> Cancelled:
    done = sum(1 for o in outcomes if o is not None and o.row["status"] in ("done", "skipped"))
    return Cancelled(f"Cancelled by the user; {done} complete pairs are kept (a re-run skips them) and no "
                     f"half-written pair was left.")


def _run_dask(tasks: List[LabelTask], order: List[int], address: str, steps: Steps) -> List[LabelOutcome]:
    distributed = require("distributed", "Running the migration on a Dask cluster")
    try:
        timeout = limits.current().connect_timeout_s
        client = distributed.Client(address, timeout=f"{timeout:g}s", set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise LabelMigrationError(
            f"Cannot reach the Dask scheduler at '{address}' within {timeout:g} s: {one_line(error)}. Check "
            f"EXECUTOR, or leave it empty for the local pool.") from None
    outcomes: List[Optional[LabelOutcome]] = [None] * len(tasks)
    try:
        client.run(begin_reusing_band_files)  # on every worker, for this run
        # the scheduler breaks ties between independent tasks by key: keys in work order keep the order
        run_id = uuid.uuid4().hex[:8]
        keys = [f"migrate-label-{run_id}-{position:07d}" for position in range(len(order))]
        threads = {address: info.get("nthreads", 1) for address, info in client.scheduler_info()["workers"].items()}
        futures, index, position = [], {}, 0
        runs = dask_runs(order, threads)
        for address, run in runs:
            # pinned to its worker, still free to move when that worker is lost or idle ones steal work
            placed = dict(workers=[address], allow_other_workers=True) if address else {}
            run_futures = client.map(migrate_label, [tasks[i] for i in run], key=keys[position:position + len(run)],
                                     pure=False, **placed)
            index.update({future.key: label for future, label in zip(run_futures, run)})
            futures.extend(run_futures)
            position += len(run)
        LOG.debug("Dask: %d labels in %d contiguous runs over %d workers", len(order), len(runs), len(threads))
        finished = distributed.as_completed(futures, loop=client.loop)
        for future in finished:
            if steps.cancelled():
                client.cancel(futures)
                raise _cancel_message(outcomes)
            try:
                outcomes[index[future.key]] = future.result()
            except Cancelled:
                raise
            except Exception as error:  # a worker lost, or the plugin not importable on it
                task = tasks[index[future.key]]
                outcomes[index[future.key]] = LabelOutcome(row=match_row(
                    task.label, status="failed", reason=f"The Dask worker failed: {one_line(error)}"))
            steps.report(sum(o is not None for o in outcomes) / len(tasks))
    finally:
        try:
            client.run(end_reusing_band_files)
        except Exception as error:  # noqa: BLE001 (a lost worker closes its files anyway)
            LOG.debug("Ending the band file reuse on the Dask workers failed: %s", error)
        for run in {task.settings.run for task in tasks}:  # each worker process logged in and relayed on its own
            try:
                client.run(forget_backends, run)  # its search backend, CDSE asset token (password) and relay paths
            except Exception as error:  # noqa: BLE001 (a lost worker's memory is gone with it)
                LOG.warning("Forgetting the run's credentials on the Dask workers failed: %s", one_line(error))
        client.close()
    return outcomes
