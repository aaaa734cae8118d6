"""Run every benchmark in one process and print one table of medians and ratios.

    python -m benchmarks [--quick] [--only NAME ...] [--growth-steps N] [--output FILE]
    python benchmarks/run.py ...   (same thing)
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import List, Optional

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable as a package
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"
    from benchmarks import _threads

    _threads.apply(_threads.from_argv(sys.argv[1:]))  # before anything imports NumPy

import numpy as np  # noqa: E402

import tinygrad_loss  # noqa: E402
from tinygrad_loss._io import write_atomic  # noqa: E402

from benchmarks import _threads, hvp, memory, mlp, reference, scaling, tiny_ops, viz_bench  # noqa: E402
from benchmarks import timing  # noqa: E402
from benchmarks.timing import Results, format_table, optional_torch  # noqa: E402

BENCHMARKS = ("mlp", "tiny_ops", "hvp", "reference", "memory", "scaling", "viz")


def machine(use_torch: bool = True) -> str:
    """One line describing where the numbers came from."""
    torch = optional_torch(use_torch)
    threads = f"{_threads.applied} BLAS/OpenMP thread(s)" if _threads.applied else "library-default threads"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = f"{names[0]} x{len(names)}"
    except OSError:
        pass
    return (f"{cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
            f"NumPy {np.__version__}, tinygrad_loss {tinygrad_loss.__version__}, "
            f"torch {torch.__version__ + f' (threads={torch.get_num_threads()})' if torch else 'not used'}; "
            f"{threads}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run_all(only: Optional[List[str]] = None, quick: bool = False, growth_steps: Optional[int] = None,
            use_torch: bool = True, scaling_max: Optional[int] = None) -> Results:
    """Run the selected benchmarks (all by default); ``quick`` uses tiny repeat counts (a smoke run)."""
    only = list(only or BENCHMARKS)
    res = Results()
    if "mlp" in only:
        res.extend(mlp.run(number=1, repeat=2, warmup=1, use_torch=use_torch) if quick
                   else mlp.run(use_torch=use_torch))
    if "tiny_ops" in only:
        res.extend(tiny_ops.run(number=5, repeat=2, warmup=1, use_torch=use_torch) if quick
                   else tiny_ops.run(use_torch=use_torch))
    if "hvp" in only:
        res.extend(hvp.run(number=1, repeat=2, warmup=1, use_torch=use_torch) if quick else hvp.run(use_torch=use_torch))
    if "reference" in only:
        res.extend(reference.run(repeat=2, warmup=1, epochs=5) if quick else reference.run())
    if "memory" in only:
        steps = growth_steps if growth_steps is not None else (20 if quick else 10_000)
        res.extend(memory.run(growth_steps=steps))
    if "scaling" in only:
        top = scaling_max if scaling_max is not None else (1_000 if quick else scaling.SIZES[-1])
        res.extend(scaling.run([n for n in scaling.SIZES if n <= top], use_torch=use_torch))
    if "viz" in only:
        res.extend(viz_bench.run(rounds=1 if quick else 5))
    return res


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny repeat counts: a smoke run, the numbers are noise")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    ap.add_argument("--growth-steps", type=int, default=None,
                    help="MLP steps for the memory-growth check (default 10000; 20 with --quick; 0 skips it)")
    ap.add_argument("--threads", type=int, default=_threads.DEFAULT,
                    help="BLAS/OpenMP threads for NumPy and PyTorch (default 1; 0 keeps the libraries' defaults)")
    ap.add_argument("--clock", choices=sorted(timing.CLOCKS), default="cpu",
                    help="this process's CPU time (default: robust on a busy machine) or wall time; the other "
                         "clock is reported beside it")
    ap.add_argument("--scaling-max", type=int, default=None,
                    help="largest chain length of the scaling benchmark (default 1000000; 1000 with --quick)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows even when torch is installed")
    ap.add_argument("--output", help="also write the table (Markdown) to this file")
    args = ap.parse_args(argv)
    timing.set_clock(args.clock)
    if args.threads > 0 and _threads.applied != args.threads:
        print(f"note: --threads {args.threads} not applied to NumPy's BLAS (NumPy was imported first)",
              file=sys.stderr)
    torch = optional_torch(not args.no_torch)
    if torch is not None and args.threads > 0:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    res = run_all(args.only, args.quick, args.growth_steps, use_torch=not args.no_torch, scaling_max=args.scaling_max)
    table = format_table(res)
    text = f"{machine(not args.no_torch)}; clock: {args.clock}\n\n{table}\n\n(total {time.perf_counter() - t0:.0f} s)"
    print(text)
    if args.output:
        write_atomic(args.output, text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
