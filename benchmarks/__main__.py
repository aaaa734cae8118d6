"""``python -m benchmarks``: run every benchmark and print the table."""
import sys

from . import _threads

_threads.apply(_threads.from_argv(sys.argv[1:]))  # before anything imports NumPy

from .run import main  # noqa: E402

raise SystemExit(main())
