"""Rewrite decorated module-level functions so mutmut 3 mutates them (run it on a SCRATCH copy only).

mutmut 3 skips every function that carries a decorator (other than ``@staticmethod``/``@classmethod``),
so the loss formulas (``@_loss_function(...)``) and the ``@public`` composites of ``ops.py`` are never
mutated. This script turns each

    @deco(args)
    def f(...): ...

at module level into ``def f(...): ...`` followed by ``f = deco(args)(f)``: the same object under the
same name, built at the same point of the import. mutmut then puts its trampoline on ``f``; the
trampoline is made with ``functools.wraps``, so the decorator still sees the body's ``__name__`` and
(through ``__wrapped__``) its signature.

    git clone -q /work/main /tmp/decor-scratch
    python tools/undecorate_for_mutmut.py /tmp/decor-scratch/tinygrad_loss/losses.py
    cd /tmp/decor-scratch && mutmut run "tinygrad_loss.losses.x_huber*" --max-children 1

It refuses to rewrite a file of the checkout it lives in (or of /work/main and the worktrees): pass
``--force`` if you really mean it (never commit the result).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List

import libcst as cst

SKIPPED = ("staticmethod", "classmethod", "property")
HERE = Path(__file__).resolve().parents[1]  # the checkout this tool lives in


class _Undecorate(cst.CSTTransformer):
    """Module-level functions only: methods and nested functions are left alone."""

    def __init__(self) -> None:
        self.rewritten: List[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # do not descend into bodies: nested defs stay as they are

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body: List[cst.CSTNode] = []
        for stmt in updated.body:
            if not isinstance(stmt, cst.FunctionDef) or not stmt.decorators or any(
                    isinstance(d.decorator, cst.Name) and d.decorator.value in SKIPPED for d in stmt.decorators):
                body.append(stmt)
                continue
            name = stmt.name.value
            wrapped: cst.BaseExpression = cst.Name(name)
            for dec in reversed(stmt.decorators):  # the decorator nearest the def applies first
                wrapped = cst.Call(func=dec.decorator, args=[cst.Arg(wrapped)])
            body.append(stmt.with_changes(decorators=[], leading_lines=[*stmt.decorators[0].leading_lines,
                                                                        *stmt.leading_lines]))
            body.append(cst.SimpleStatementLine(body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(name))],
                                                                 value=wrapped)]))
            self.rewritten.append(name)
        return updated.with_changes(body=body)


def undecorate(source: str) -> tuple[str, List[str]]:
    """``source`` with its decorated module-level functions rewritten, and their names."""
    tr = _Undecorate()
    out = cst.parse_module(source).visit(tr)
    return out.code, tr.rewritten


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--force", action="store_true", help="rewrite even under /work/main or a worktree")
    args = ap.parse_args(argv)
    for path in args.files:
        resolved = path.resolve()
        if not args.force and (HERE in resolved.parents or re.match(r"/work/(main|wt-[^/]+)/", str(resolved))):
            print(f"refusing to rewrite {path}: copy the repository to a scratch directory first "
                  "(or pass --force)", file=sys.stderr)
            return 2
        code, names = undecorate(path.read_text())
        path.write_text(code)
        print(f"{path}: {len(names)} functions undecorated: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
