"""Peak resident memory of this process for the benchmark peers (Linux /proc; nan elsewhere)."""
import ctypes
import gc


def peak_rss_mb():
    """VmHWM in MiB: the peak resident set since start or the last reset_peak_rss()."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_peak_rss():
    """Frees what Python and malloc hold unused, then makes the peak equal the current resident set."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
