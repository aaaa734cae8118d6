"""How long drawing takes: ``to_dot`` on long chains (is it linear?) and 300-node pictures end to end.

    python -m benchmarks.viz_bench [--rounds N]     (or as part of ``python -m benchmarks``: ``--only viz``)

CPU time of this process for ``to_dot`` (median of interleaved rounds); for a picture, the CPU
time of ``to_dot`` plus the CPU time of the Graphviz ``dot`` child process, and the wall time.
Issue 15's targets: ``to_dot`` of a 10k-op chain within 12x the 1k time (linear is 10x), and a
picture of about 300 nodes in at most 3 s.
"""
from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import time
from typing import Callable, Dict, List, Tuple

import numpy as np

import tinygrad_loss as tl
from tinygrad_loss import losses
from tinygrad_loss.nn import Dense, Sequential, clear_session
from tinygrad_loss.viz._graph import collect

from .timing import Results, Row, Seconds

TARGET_LINEAR = 12.0    # to_dot time of a 10k-op chain / of a 1k-op chain
TARGET_PICTURE = 3.0    # seconds for a ~300-node picture (to_dot + dot -Tsvg)


def chain(n_ops: int) -> tl.Tensor:
    """A chain of ``n_ops`` elementwise ops (about 1.5 nodes per op: every other op has a constant)."""
    x = tl.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x
    for i in range(n_ops - 1):
        y = y * 1.0001 if i % 2 else tl.tanh(y)
    return y.sum()


def deep_mlp(layers: int = 58) -> tl.Tensor:
    """A deep, narrow MLP with cross-entropy: name scopes (clusters) for every layer and the loss."""
    clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(8, activation="tanh", input_shape=(4,))] +
                       [Dense(8, activation="tanh") for _ in range(layers - 2)] + [Dense(3)])
    x = tl.Tensor(np.random.default_rng(0).normal(size=(5, 4)), name="x")
    loss = losses.CategoricalCrossentropy(from_logits=True)(np.eye(3)[[0, 1, 2, 0, 1]], model(x))
    loss.backward(retain_graph=True)
    return loss


def random_dag(nodes: int = 300, window: int = 100) -> tl.Tensor:
    """Random adds and muls of earlier results: many long edges that cross (hard for a layout)."""
    rng = random.Random(0)
    pool = [tl.Tensor([float(i % 3)], requires_grad=True, name=f"x{i}") for i in range(10)]
    while len(pool) < nodes - 1:
        a, b = rng.sample(pool[-window:], 2)
        pool.append(a * b if rng.random() < 0.5 else a + b)
    with np.errstate(all="ignore"):
        out = pool[-1]
        for t in pool[-40:-1]:
            out = out + t
        return out.sum()


def cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def to_dot_scaling(rounds: int) -> Dict[int, float]:
    """Median CPU seconds of ``to_dot`` (shapes only, no values) per chain length, rounds interleaved."""
    graphs = {n: chain(n) for n in (1_000, 10_000)}
    times: Dict[int, List[float]] = {n: [] for n in graphs}
    for _ in range(rounds):
        for n, g in graphs.items():
            times[n].append(cpu(lambda: tl.to_dot(g, show_value=False, max_nodes=10 ** 6)))
    return {n: statistics.median(v) for n, v in times.items()}


def picture(loss: tl.Tensor, rounds: int) -> Tuple[int, float, float]:
    """(drawn tensors, median CPU s of to_dot + dot, median wall s) for an SVG of the graph."""
    cpus, walls = [], []
    for _ in range(rounds):
        wall0, child0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        own = cpu(lambda: subprocess.run(["dot", "-Tsvg"], input=tl.to_dot(loss, max_nodes=10 ** 4).encode(),
                                         capture_output=True, check=True))
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(own + (child.ru_utime - child0.ru_utime) + (child.ru_stime - child0.ru_stime))
        walls.append(time.perf_counter() - wall0)
    return len(collect([loss])), statistics.median(cpus), statistics.median(walls)


def run(rounds: int = 5) -> Results:
    """The rows of ``python -m benchmarks``: to_dot per chain length, their ratio, and the two pictures."""
    res = Results()
    times = to_dot_scaling(rounds)
    for n, t in times.items():
        res.add(Row("to_dot, shapes only", f"chain of {n:,} ops", t))
    linear = times[10_000] / times[1_000]
    res.add(Row("to_dot, chain of 10k ops / of 1k ops", "ours", linear, unit="x", target=f"<= {TARGET_LINEAR:g}",
                met=linear <= TARGET_LINEAR))
    for name, loss in (("deep MLP + cross-entropy", deep_mlp()), ("random DAG", random_dag())):
        n, c, w = picture(loss, max(1, rounds // 2))
        res.add(Row("picture of ~300 nodes, to_dot + dot -Tsvg", name, Seconds.of(c, w), note=f"{n} tensors",
                    target=f"<= {TARGET_PICTURE:g} s", met=c <= TARGET_PICTURE and w <= TARGET_PICTURE))
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    scaling = to_dot_scaling(rounds)
    print("to_dot, shapes only (CPU time, median of interleaved rounds)")
    for n, s in scaling.items():
        print(f"  chain of {n:>6} ops: {s * 1e3:8.1f} ms")
    print(f"  10k / 1k = {scaling[10_000] / scaling[1_000]:.1f}x (target <= 12x; linear is 10x)")
    print("a picture of a ~300-node graph: to_dot + Graphviz dot -Tsvg (target <= 3 s)")
    for name, loss in (("deep MLP + cross-entropy", deep_mlp()), ("random DAG", random_dag())):
        n, c, w = picture(loss, max(1, rounds // 2))
        print(f"  {name:26s} {n:4d} tensors: CPU {c:6.2f} s, wall {w:6.2f} s")


if __name__ == "__main__":
    main()
