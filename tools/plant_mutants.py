"""Run mutants that mutmut cannot switch on, by planting each one in a scratch copy of the repository.

mutmut switches a mutant on when its function is *called* during a test; a function that runs only
at import time (a factory such as ``ops._compare`` or ``ops._arg_extreme``, ``ops.defop``) has run
before any test starts, so mutmut reports all of its mutants as survivors. This script plants them
one at a time instead (mutmut's own mutated function, written into a scratch copy of the tracked
files), runs the given test files one after another (each with ``-x``, in a process forked before
the package is imported, so every run imports the planted code afresh: put the quickest killers
first), and reports each mutant as killed or survived.

    python tools/plant_mutants.py tinygrad_loss.ops.x__compare tinygrad_loss.ops.x_defop \\
        -- tests/test_ops_mutants.py tests/test_ops_gradcheck.py

Each argument before ``--`` is a mutant name or the prefix of several (as ``mutmut results``
prints them); a ``mutmut run`` must have generated ``mutants/`` first. Nothing in the working tree
changes. The exit status is the number of survivors (capped at 100).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hypothesis  # noqa: F401  (imported once here, as numpy and pytest: the forked runs skip it)
import libcst as cst
import numpy  # noqa: F401
import pytest  # imported once here; each forked run imports only the package and the tests
from mutmut.mutation.diff_apply import find_top_level_function_or_method, read_functions_from_index

ROOT = Path(__file__).resolve().parent.parent


def mutant_names(prefixes: list[str]) -> list[str]:
    """Every mutant in ``mutants/**/*.meta`` whose name is one of ``prefixes`` or starts with one + ``__mutmut_``."""
    names = []
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        for key in json.loads(meta.read_text())["exit_code_by_key"]:
            if any(key == p or key.startswith(p + "__mutmut_") for p in prefixes):
                names.append(key)
    return sorted(names, key=lambda k: (k.rpartition("__mutmut_")[0], int(k.rpartition("__mutmut_")[2])))


def source_of(name: str) -> Path:
    """``tinygrad_loss.ops.x_f__mutmut_3`` -> ``tinygrad_loss/ops.py`` (relative to the repository)."""
    return Path(*name.split(".")[:-1]).with_suffix(".py")


def planted_source(name: str, original: cst.Module) -> str:
    """The module's source with the one function that ``name`` mutates replaced by its mutant."""
    cwd = os.getcwd()
    os.chdir(ROOT)  # mutmut reads its index under ./mutants
    try:
        functions = read_functions_from_index(name, source_of(name))
    finally:
        os.chdir(cwd)
    if functions is None:
        raise RuntimeError(f"mutmut has no index entry for {name}: run `mutmut run` first")
    target = find_top_level_function_or_method(original, functions[1].name.value)
    if target is None:
        raise RuntimeError(f"{name}: no function {functions[1].name.value} in {source_of(name)}")
    return original.deep_replace(target, functions[1]).code


def scratch_copy() -> Path:
    """The tracked and new unignored files (as they are in the working tree) in a temporary directory."""
    dest = Path(tempfile.mkdtemp(prefix="plant-mutants-"))
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def run_tests_forked(scratch: Path, test: str) -> int:
    """pytest's exit code for ``test`` run in ``scratch``, in a forked child that imports the package afresh."""
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 3
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.chdir(scratch)
            sys.path.insert(0, str(scratch))
            os.environ["PYTHONPATH"] = str(scratch)  # for the example scripts some tests start
            sys.dont_write_bytecode = True  # a cached .pyc of the previous mutant must never be read
            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", test]))
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def run_one(name: str, scratch: Path, tests: list[str], original: cst.Module) -> str:
    """Plant ``name`` in ``scratch``, run ``tests``, put the source back: "killed" or "survived"."""
    path = scratch / source_of(name)
    before = path.read_text()
    planted = planted_source(name, original)
    if planted == before:
        raise RuntimeError(f"planting {name} changed nothing")
    path.write_text(planted)
    try:
        for test in tests:  # a killed mutant stops at the first file that fails
            if run_tests_forked(scratch, test) != 0:
                return "killed"
    finally:
        path.write_text(before)
    return "survived"


def main(argv: list[str]) -> int:
    if "--" not in argv:
        print(__doc__)
        return 2
    split = argv.index("--")
    prefixes, tests = argv[:split], argv[split + 1:]
    names = mutant_names(prefixes)
    if not names or not tests:
        print("no mutants match" if not names else "no tests given")
        return 2
    if "tinygrad_loss" in sys.modules:
        raise RuntimeError("the package must not be imported before the forks")
    scratch = scratch_copy()
    originals = {}
    survivors = []
    try:
        for i, name in enumerate(names, 1):
            start = time.time()
            src = source_of(name)
            if src not in originals:
                originals[src] = cst.parse_module((ROOT / src).read_text())
            status = run_one(name, scratch, tests, originals[src])
            print(f"{i:>4}/{len(names)} {status:<9} {name}  ({time.time() - start:.0f} s)", flush=True)
            if status == "survived":
                survivors.append(name)
    finally:
        shutil.rmtree(scratch)
    print(f"\n{len(names) - len(survivors)} killed, {len(survivors)} survived of {len(names)}")
    for name in survivors:
        print(f"  survived  {name}")
    return min(len(survivors), 100)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
