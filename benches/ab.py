#!/usr/bin/env python3
"""Times two builds of the tierwasm CLI against each other on the benchmark workloads.

    python3 benches/ab.py OLD_BINARY NEW_BINARY [RUNS] [WORKLOAD,...]

For each workload the two binaries run alternately, RUNS times each (default 9), and the
median CPU time (user + system, which a busy shared machine disturbs less than wall time)
of each is printed with the ratio new/old, then the geometric mean of the ratios. Use it to
measure one change: build before and after, copy each `target/release/tierwasm` aside, and
run this. (`cargo run --release -p compare` compares tierwasm with wasmi instead.)
"""

import math
import resource
import statistics
import subprocess
import sys
from pathlib import Path

WORKLOADS = Path(__file__).resolve().parent / "workloads"

# The sizes `benches/compare` uses, each about 0.1 s of work.
SIZES = {
    "fib": 30, "recursion": 200, "collatz": 100000, "vm": 200000, "quicksort": 300000,
    "heapsort": 150000, "hash32": 800, "hash64": 8000, "sieve": 4000000, "matmul": 50,
    "nbody": 100000, "memops": 500000, "parse": 60000, "indirect": 1500000,
}


def cpu_seconds(binary, workload):
    module = WORKLOADS / (workload + (".wat" if workload == "fib" else ".wasm"))
    export = "fib" if workload == "fib" else "run"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([binary, "run", "--invoke", export, str(module), str(SIZES[workload])],
                   stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    old, new = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    chosen = sys.argv[4].split(",") if len(sys.argv) > 4 else list(SIZES)
    unknown = [w for w in chosen if w not in SIZES]
    if unknown:
        sys.exit(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(SIZES)}")
    print(f"{'workload':10} {'old ms':>8} {'new ms':>8} {'new/old':>8}")
    logs = []
    for workload in chosen:
        times_old, times_new = [], []
        for _ in range(runs):
            times_old.append(cpu_seconds(old, workload))
            times_new.append(cpu_seconds(new, workload))
        median_old, median_new = statistics.median(times_old), statistics.median(times_new)
        logs.append(math.log(median_new / median_old))
        print(f"{workload:10} {median_old * 1e3:8.1f} {median_new * 1e3:8.1f} "
              f"{median_new / median_old:8.3f}", flush=True)
    print(f"geomean new/old {math.exp(sum(logs) / len(logs)):.3f}")


if __name__ == "__main__":
    main()
