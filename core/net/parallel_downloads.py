"""Several downloads at once (download_many), with one combined progress and one error naming every failed file."""
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Union

from ..util.errors import Cancelled, LabelMigrationError
from ..util.paths import missing_folders, remove_empty_folders
from .credentials import HeadersProvider
from .download import CHUNK_SIZE, download
from .download_types import DownloadFailed, DownloadJob, DownloadProgress, DownloadResult, ProductOffline
from .http import DEFAULT_TIMEOUT

MAX_CONNECTIONS = 4  # the Copernicus Data Space allows four parallel downloads per user


class _CombinedProgress:
    """Adds up the progress of parallel downloads (thread-safe)."""

    def __init__(self, jobs: Sequence[DownloadJob], progress: Optional[Callable[[DownloadProgress], None]]):
        self.progress = progress
        self.lock = threading.Lock()
        self.done = [0] * len(jobs)
        self.totals = [job.expected_size for job in jobs]
        self.rates = [0.0] * len(jobs)

    def for_job(self, index: int) -> Callable[[DownloadProgress], None]:
        def report(state: DownloadProgress) -> None:
            with self.lock:
                self.done[index], self.rates[index] = state.bytes_done, state.rate_bytes_per_s
                self.totals[index] = state.bytes_total
                if self.progress:
                    self.progress(self.combined())
        return report

    def finished(self, index: int, size: int) -> None:
        with self.lock:
            self.done[index] = self.totals[index] = size
            self.rates[index] = 0.0
            if self.progress:
                self.progress(self.combined())

    def combined(self) -> DownloadProgress:
        total = None if None in self.totals else sum(self.totals)
        return DownloadProgress(sum(self.done), total, sum(self.rates))


def download_many(jobs: Sequence[DownloadJob], max_connections: int = MAX_CONNECTIONS, *,
                  headers_provider: Optional[HeadersProvider] = None,
                  progress: Optional[Callable[[DownloadProgress], None]] = None,
                  is_cancelled: Optional[Callable[[], bool]] = None, retries: int = 5,
                  chunk_size: int = CHUNK_SIZE, timeout: Optional[float] = DEFAULT_TIMEOUT, backoff: float = 1.0,
                  raise_on_error: bool = True) -> List[Union[DownloadResult, ProductOffline, DownloadFailed]]:
    """Run the jobs with at most max_connections (never more than 4) downloads at once.

    Returns one result per job, in order: DownloadResult, ProductOffline or (with
    raise_on_error=False) DownloadFailed. With raise_on_error, a LabelMigrationError naming every
    failed file is raised once all jobs have ended. A cancel stops every download (Cancelled).
    """
    connections = max(1, min(int(max_connections), MAX_CONNECTIONS))
    new_folders = missing_folders(job.target for job in jobs)
    stop = threading.Event()
    combined = _CombinedProgress(jobs, progress)

    def cancelled() -> bool:
        return stop.is_set() or bool(is_cancelled and is_cancelled())

    def run(index: int, job: DownloadJob):
        try:
            outcome = download(job.url, job.target, expected_size=job.expected_size, checksums=job.checksums,
                               headers_provider=job.headers_provider or headers_provider,
                               progress=combined.for_job(index),
                               is_cancelled=cancelled, retries=retries, chunk_size=chunk_size,
                               timeout=timeout, backoff=backoff)
        except Cancelled:
            stop.set()
            raise
        except LabelMigrationError as error:
            return DownloadFailed(job.url, job.target, str(error))
        except BaseException:
            stop.set()
            raise
        if isinstance(outcome, DownloadResult):
            combined.finished(index, outcome.size)
        return outcome

    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="download") as pool:
        futures = [pool.submit(run, index, job) for index, job in enumerate(jobs)]
        outcomes = [_wait(future) for future in futures]
    remove_empty_folders(new_folders)  # made for downloads that failed or were offline
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if errors:
        raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    failed = [outcome for outcome in outcomes if isinstance(outcome, DownloadFailed)]
    if failed and raise_on_error:
        error = LabelMigrationError(f"{len(failed)} of {len(jobs)} downloads failed:\n"
                                    + "\n".join(f"- {item.message}" for item in failed))
        error.results = outcomes
        raise error
    return outcomes


def _wait(future):
    try:
        return future.result()
    except BaseException as error:  # collected so that every thread has ended before raising
        return error
