"""Per-module mutation testing results from mutmut's ``mutants/`` directory, and the survivors.

    python tools/mutation_report.py            # every module mutmut has results for
    python tools/mutation_report.py optim ops  # only these modules

Kill rate = killed / (killed + survived + timeout): a timeout is counted against the tests, and
mutants no test reaches ("no tests") are listed apart, since no test can kill them.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code  # mutmut's meaning of a mutant run's exit code

def load(root: Path, modules: list[str]) -> dict[str, dict[str, str]]:
    """{module: {mutant name: status}} for the ``.meta`` files under ``root/mutants``."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted((root / "mutants" / "tinygrad_loss").rglob("*.py.meta")):
        module = meta.relative_to(root / "mutants" / "tinygrad_loss").as_posix()[:-len(".py.meta")]
        if modules and module.replace("/", ".") not in modules:
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out[module] = {k: "not run" if v is None else status_by_exit_code[v] for k, v in codes.items()}
    return out


def main(argv: list[str]) -> int:
    results = load(Path.cwd(), argv)
    if not results:
        print("no mutmut results: run `make mutants` (or `mutmut run`) first")
        return 1
    print(f"{'module':<22}{'mutants':>8}{'killed':>8}{'survived':>9}{'timeout':>8}{'no tests':>9}"
          f"{'not run':>8}{'kill rate':>10}")
    for module, statuses in results.items():
        c = Counter(statuses.values())
        judged = c["killed"] + c["survived"] + c["timeout"]
        rate = f"{100 * c['killed'] / judged:.1f}%" if judged else "-"
        print(f"{module:<22}{len(statuses):>8}{c['killed']:>8}{c['survived']:>9}{c['timeout']:>8}"
              f"{c['no tests']:>9}{c['not run']:>8}{rate:>10}")
    for module, statuses in results.items():
        survivors = sorted(k for k, s in statuses.items() if s in ("survived", "timeout", "no tests"))
        if survivors:
            print(f"\n{module}: {len(survivors)} not killed (`mutmut show NAME` prints the change)")
            for name in survivors:
                print(f"  {statuses[name]:<9} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
