"""On a Dask cluster each worker thread gets a contiguous run of the work order, pinned to its worker
(core.migration.executor.dask_runs), as the local pool's threads do (WorkRuns): neighbouring labels then share
the JPEG 2000 blocks one worker decoded instead of every worker decoding every place's blocks (issue 17)."""
from types import SimpleNamespace

import pytest

from labelmigration.core.migration import executor
from labelmigration.core.migration.executor import dask_runs
from labelmigration.core.util.progress import Steps


def test_each_worker_thread_gets_one_contiguous_run():
    order = [7, 3, 9, 0, 1, 2, 8, 4, 5, 6]  # the work order (by place), not the task order
    runs = dask_runs(order, {"tcp://b:2": 1, "tcp://a:1": 2})
    assert runs == [("tcp://a:1", [7, 3, 9, 0]), ("tcp://a:1", [1, 2, 8]), ("tcp://b:2", [4, 5, 6])]
    assert [label for _, run in runs for label in run] == order
    assert dask_runs([0, 1], {"tcp://a:1": 4}) == [("tcp://a:1", [0]), ("tcp://a:1", [1])]  # no empty runs
    assert dask_runs([0, 1], {}) == [("", [0, 1])]


def _where(task):
    """Stands in for migrate_label on the cluster: which worker ran which label."""
    import distributed
    return task.label, distributed.get_worker().address


def test_labels_run_on_the_worker_their_run_is_pinned_to(monkeypatch):
    """A real in-process LocalCluster of two one-thread workers: each contiguous half of the work order runs
    on one worker (migrate_label replaced by _where, which reports the worker: the migration itself is tested in
    test_migrate.py's Dask test)."""
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(executor, "migrate_label", _where)
    settings = SimpleNamespace(run="dask-runs-test")
    tasks = [SimpleNamespace(label=f"label{index}", place=(index * 7) % 12, settings=settings) for index in range(12)]
    order = executor.work_order(tasks)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        outcomes = executor._run_dask(tasks, order, cluster.scheduler_address, Steps(None, None))
    ran_on = dict(outcomes)
    first, second = order[:6], order[6:]
    assert len({ran_on[tasks[i].label] for i in first}) == 1 and len({ran_on[tasks[i].label] for i in second}) == 1
    assert ran_on[tasks[first[0]].label] != ran_on[tasks[second[0]].label]
