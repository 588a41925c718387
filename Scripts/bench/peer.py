"""What the PyTorch-side peers of `synclr-bench` share: the line protocol Sources/synclr-bench/TorchPeer.swift
speaks, and the process's peak resident memory (Linux /proc; nan elsewhere).

Protocol (one line each, stdin/stdout): `threads N` -> ok (torch's intra-op threads); `setup NAME`
-> ok (frees the previous workload, resets the peak, builds and warms up) or `unavailable: ...`;
`run NAME` -> seconds of one repetition; `rss` -> peak resident MiB since the last setup; `quit`.
"""
import ctypes
import gc
import sys
import time


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


def serve(make, optional=(ImportError, OSError)):
    """Answers the protocol on stdin/stdout. `make(name)` returns a callable running one repetition;
    when that callable returns a float, it is the repetition's own timing (e.g. with untimed setup
    inside), otherwise the wall time of the call is reported. Errors of the `optional` types in
    `make` answer `unavailable` (a peer whose model or package is missing)."""
    import torch

    work = {}
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        if parts[0] == "threads":
            torch.set_num_threads(int(parts[1]))
            print("ok", flush=True)
        elif parts[0] == "rss":
            print(f"{peak_rss_mb():.1f}", flush=True)
        elif parts[0] == "setup":
            work.clear()
            reset_peak_rss()
            try:
                work[parts[1]] = make(parts[1])
            except optional as e:
                print(f"unavailable: {e}".replace("\n", " "), flush=True)
                continue
            work[parts[1]]()  # warm-up
            print("ok", flush=True)
        elif parts[0] == "run":
            t = time.perf_counter()
            inner = work[parts[1]]()
            elapsed = inner if isinstance(inner, float) else time.perf_counter() - t
            print(f"{elapsed:.9f}", flush=True)
