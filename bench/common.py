"""What the benchmarks share (they run as scripts, so bench/ is on sys.path)."""
import os
import resource
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def import_plugin() -> None:
    """Make the checkout importable as the package 'labelmigration' through a symlink (the repository
    root itself must never be on sys.path: its processing/ would shadow QGIS's). Child processes and
    Dask workers inherit the same import root through PYTHONPATH."""
    root = tempfile.mkdtemp(prefix="lm-bench-import-")
    os.symlink(REPO_ROOT, os.path.join(root, "labelmigration"))
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != str(REPO_ROOT)]
    sys.path.insert(0, root)
    os.environ["PYTHONPATH"] = root + os.pathsep + os.environ.get("PYTHONPATH", "")


def own_peak_rss_mb() -> float:
    """This process's own peak resident memory since exec (VmHWM), in MB. ru_maxrss would carry
    the parent's peak over fork and exec on Linux; it is the fallback where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
