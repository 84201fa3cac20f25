"""Measurements shared by the benchmarks (run as scripts: bench/ is on sys.path)."""
import resource


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
