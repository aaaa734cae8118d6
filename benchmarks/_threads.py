"""Pin the BLAS / OpenMP thread count *before* NumPy is imported (env vars are read at load time).

On a small shared machine multi-threaded BLAS timings swing several-fold from run to run
(threads spin-waiting for a core another process holds), so the benchmarks default to one
thread for NumPy's BLAS and for PyTorch: the comparison is then framework against framework
on the same single core. ``--threads 0`` keeps each library's own default.
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional

DEFAULT = 1
ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# The count actually applied in this process (None: library defaults), read by the table header.
applied: Optional[int] = None


def from_argv(argv: List[str]) -> int:
    """The ``--threads N`` value in ``argv`` (``DEFAULT`` when absent or malformed: argparse reports that)."""
    for i, a in enumerate(argv):
        val = a.split("=", 1)[1] if a.startswith("--threads=") else (argv[i + 1] if a == "--threads" and
                                                                      i + 1 < len(argv) else None)
        if val is not None:
            try:
                return int(val)
            except ValueError:
                return DEFAULT
    return DEFAULT


def apply(n: int) -> bool:
    """Set the env vars for ``n`` threads (0: leave defaults). False when NumPy was already loaded."""
    global applied
    if n <= 0:
        applied = None
        return True
    if "numpy" in sys.modules:
        return False
    for var in ENV_VARS:
        os.environ[var] = str(n)
    applied = n
    return True
