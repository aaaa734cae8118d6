"""Benchmark 1: one training step of a ReLU MLP, softmax cross-entropy from logits, plain SGD (float32).

Three networks: 784-256-10 (batch 128), and issue 15's 784-64-64-10 (batch 32), where the
per-step bookkeeping is a large share of the step, and 784-256-256-10 (batch 128), where the
matrix products dominate. Loss: softmax cross-entropy from logits (mean over the batch).
Each step is written four ways, all starting from the same weights and batch:

- ``numpy``  hand-written forward, backward and update in NumPy: the floor we measure against;
- ``ops``    tinygrad_loss with raw Tensor ops (``@``, ``relu``, ``log_softmax``) and a manual update;
- ``nn``     tinygrad_loss with ``Sequential``/``Dense``, ``CategoricalCrossentropy(from_logits=True)``
             and ``optim.SGD`` (when those modules exist);
- ``torch``  PyTorch CPU eager with ``nn.Linear`` and ``torch.optim.SGD`` (when torch is importable).

The "overhead" rows time the same four steps on a 3-4-2 network with a batch of 2, where the
arithmetic is negligible, and subtract NumPy's time: what remains is each framework's per-step
bookkeeping (graph, engine, layer and loss checks, optimizer loop).
"""
from __future__ import annotations

from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

import tinygrad_loss as tg
from tinygrad_loss import Tensor

from .timing import Results, Row, measure, optional_torch

N_IN, N_HIDDEN, N_OUT, BATCH, LR = 784, 256, 10, 128, 0.01
TARGET = 1.15  # ours / NumPy, for the 784-256-10 network


class Network(NamedTuple):
    """One benchmarked network: layer widths (input first), batch size and the target ratio ours / NumPy."""
    sizes: Tuple[int, ...]
    batch: int
    target: float


NETWORKS = (Network((N_IN, N_HIDDEN, N_OUT), BATCH, TARGET),
            Network((784, 64, 64, 10), 32, 1.5),       # issue 15: bookkeeping-bound
            Network((784, 256, 256, 10), 128, 1.08))   # issue 15: matmul-bound


class Problem:
    """Seeded weights (Glorot-uniform kernels, zero biases) and one batch of inputs and one-hot labels.

    ``sizes`` are the layer widths, input first: ``(784, 64, 64, 10)`` has two hidden ReLU layers.
    ``params`` is ``[kernel_1, bias_1, kernel_2, bias_2, ...]``.
    """

    def __init__(self, seed: int = 0, batch: int = BATCH, sizes: Sequence[int] = (N_IN, N_HIDDEN, N_OUT)):
        if len(sizes) < 2:
            raise ValueError(f"Problem: sizes needs an input and an output width, got {sizes!r}")
        rng = np.random.default_rng(seed)
        self.sizes = tuple(int(n) for n in sizes)

        def glorot(fan_in: int, fan_out: int) -> np.ndarray:
            lim = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-lim, lim, size=(fan_in, fan_out)).astype(np.float32)

        self.params: List[np.ndarray] = []
        for fan_in, fan_out in zip(self.sizes, self.sizes[1:]):
            self.params += [glorot(fan_in, fan_out), np.zeros(fan_out, np.float32)]
        n_in, n_out = self.sizes[0], self.sizes[-1]
        self.x = rng.standard_normal((batch, n_in)).astype(np.float32)
        self.labels = rng.integers(0, n_out, size=batch)
        self.onehot = np.eye(n_out, dtype=np.float32)[self.labels]

    @property
    def name(self) -> str:
        return f"MLP step {'-'.join(map(str, self.sizes))}, b={self.x.shape[0]}"

    def weights(self) -> List[np.ndarray]:
        """Fresh copies of the initial weights (each contender trains its own)."""
        return [p.copy() for p in self.params]


# --- NumPy: the floor ------------------------------------------------------------------------

def numpy_step(params: List[np.ndarray], x: np.ndarray, onehot: np.ndarray, lr: float = LR) -> float:
    """Forward, backward and SGD update by hand; updates ``params`` in place, returns the loss."""
    kernels, biases = params[0::2], params[1::2]
    n = x.shape[0]
    inputs, pre = [], []        # each layer's input, and each hidden layer's pre-activation
    a = x
    for i, (w, b) in enumerate(zip(kernels, biases)):
        inputs.append(a)
        z = a @ w + b
        if i < len(kernels) - 1:
            pre.append(z)
            a = np.maximum(z, 0)
    zs = z - z.max(axis=1, keepdims=True)
    e = np.exp(zs)
    s = e.sum(axis=1, keepdims=True)
    loss = -(onehot * (zs - np.log(s))).sum() / n
    dz = (e / s - onehot) / n          # d loss / d logits = (softmax - onehot) / n
    for i in range(len(kernels) - 1, -1, -1):
        w = kernels[i]
        dw, db = inputs[i].T @ dz, dz.sum(axis=0)
        if i:
            dz = (dz @ w.T) * (pre[i - 1] > 0)   # through the ReLU of the layer below (before w changes)
        w -= lr * dw
        biases[i] -= lr * db
    return float(loss)


def make_numpy(problem: Problem) -> Tuple[Callable[[], float], List[np.ndarray]]:
    params = problem.weights()
    x, onehot = problem.x, problem.onehot
    return (lambda: numpy_step(params, x, onehot)), params


# --- ours, raw Tensor ops ---------------------------------------------------------------------

def ops_step(params: List[Tensor], x: Tensor, onehot: Tensor, lr: float = LR, intermediate_grads: bool = True) -> float:
    """The same step with tinygrad_loss primitives; gradients from ``backward()``."""
    h = x
    last = len(params) - 2
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < last:
            h = h.relu()
    loss = -(tg.log_softmax(h, axis=-1) * onehot).sum(axis=-1).mean()
    loss.backward(intermediate_grads=intermediate_grads)
    with tg.no_grad():
        for p in params:
            p.data -= lr * p.grad.data
            p.grad = None
    return loss.item()


def make_ops(problem: Problem, intermediate_grads: bool = True) -> Tuple[Callable[[], float], List[Tensor]]:
    params = [Tensor(p, requires_grad=True) for p in problem.params]
    x, onehot = Tensor(problem.x), Tensor(problem.onehot)
    return (lambda: ops_step(params, x, onehot, intermediate_grads=intermediate_grads)), params


# --- ours, layers + loss + optimizer ---------------------------------------------------------

def nn_available() -> Optional[str]:
    """None when Sequential/Dense, CategoricalCrossentropy and optim.SGD exist, else why not."""
    try:
        from tinygrad_loss import losses, nn, optim  # noqa: F401
        nn.Sequential, nn.Dense, losses.CategoricalCrossentropy, optim.SGD  # noqa: B018
    except (ImportError, AttributeError) as e:
        return f"layers/losses/optimizers not available yet ({e})"
    return None


def make_nn(problem: Problem) -> Tuple[Callable[[], float], List[Tensor]]:
    from tinygrad_loss import losses, nn, optim

    n_in, *hidden, n_out = problem.sizes
    units, acts = hidden + [n_out], ["relu"] * len(hidden) + [None]
    model = nn.Sequential([nn.Dense(units[0], activation=acts[0], input_shape=(n_in,))]
                          + [nn.Dense(u, activation=a) for u, a in zip(units[1:], acts[1:])])
    params = list(model.parameters())
    if [p.shape for p in params] != [p.shape for p in problem.params]:
        raise RuntimeError(f"unexpected parameter shapes {[p.shape for p in params]}")
    for p, w in zip(params, problem.params):
        p.data[...] = w
    loss_fn = losses.CategoricalCrossentropy(from_logits=True)
    opt = optim.SGD(params, learning_rate=LR)
    x, onehot = Tensor(problem.x), Tensor(problem.onehot)

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(onehot, model(x))
        loss.backward()
        opt.step()
        return loss.item()

    return step, params


# --- PyTorch ---------------------------------------------------------------------------------

def make_torch(problem: Problem, torch) -> Tuple[Callable[[], float], list]:
    linears = []
    for w, b in zip(problem.params[0::2], problem.params[1::2]):
        lin = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():  # nn.Linear stores the kernel transposed: (out, in)
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        linears.append(lin)
    mods = []
    for lin in linears[:-1]:
        mods += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*mods, linears[-1])
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x = torch.from_numpy(problem.x)
    labels = torch.from_numpy(problem.labels)
    f = torch.nn.functional.cross_entropy

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = f(model(x), labels)
        loss.backward()
        opt.step()
        return loss.item()

    return step, [t for lin in linears for t in (lin.weight, lin.bias)]


def contenders(problem: Problem, torch=None) -> Tuple[Dict[str, Callable[[], float]], List[str]]:
    """Name -> step function for everything that can run here, and notes on what was skipped."""
    fns: Dict[str, Callable[[], float]] = {"NumPy (hand-written)": make_numpy(problem)[0],
                                           "ours (Tensor ops)": make_ops(problem)[0]}
    notes = []
    why = nn_available()
    if why is None:
        fns["ours (Dense+CE+SGD)"] = make_nn(problem)[0]
    else:
        notes.append(f"MLP step with Dense/Sequential skipped: {why}")
    if torch is not None:
        fns["PyTorch CPU eager"] = make_torch(problem, torch)[0]
    else:
        notes.append("MLP step: PyTorch row skipped (torch not importable, or --no-torch)")
    return fns, notes


def step_rows(problem: Problem, target: float, number: int, repeat: int, warmup: int, torch=None) -> Results:
    """One row per contender: its median step time, its ratio to NumPy and to PyTorch."""
    fns, notes = contenders(problem, torch)
    times = measure(fns, number=number, repeat=repeat, warmup=warmup)
    res = Results(notes=notes)
    base = times["NumPy (hand-written)"]
    th = times.get("PyTorch CPU eager")
    for name, t in times.items():
        ours = name.startswith("ours")
        ratio = t / base
        res.add(Row(problem.name, name, t, ratio=ratio, ratio_of="NumPy", vs_torch=None if th is None else t / th,
                    target=f"<= {target}" if ours else "", met=(ratio <= target) if ours else None))
    return res


def overhead_rows(number: int, repeat: int, warmup: int, torch=None) -> Results:
    """The same step on a 3-4-2 network and a batch of 2: the arithmetic is free, so what is
    left is each framework's per-step bookkeeping (graph, engine, layers, loss checks)."""
    tiny = Problem(seed=1, batch=2, sizes=(3, 4, 2))
    tfns, _ = contenders(tiny, torch)
    tt = measure(tfns, number=number * 20, repeat=repeat, warmup=warmup)
    floor = tt["NumPy (hand-written)"]
    th_over = tt["PyTorch CPU eager"] - floor if "PyTorch CPU eager" in tt else None
    res = Results()
    for name, t in tt.items():
        if name != "NumPy (hand-written)":
            res.add(Row("MLP step overhead (3-4-2 net, b=2)", name, t - floor, ratio=t / floor, ratio_of="NumPy",
                        vs_torch=None if th_over is None else (t - floor) / th_over,
                        note="minus NumPy's step on the same tiny net"))
    return res


def run(number: int = 10, repeat: int = 31, warmup: int = 2, problem: Optional[Problem] = None,
        use_torch: bool = True, overhead: bool = True,
        networks: Optional[Sequence[Tuple[Problem, float]]] = None) -> Results:
    """Step rows of every network of ``NETWORKS`` (or of ``networks``: ``(problem, target)`` pairs; a
    single ``problem`` gets the 784-256-10 target), then the overhead rows."""
    torch = optional_torch(use_torch)
    if networks is None:
        networks = [(problem, TARGET)] if problem is not None else \
            [(Problem(batch=n.batch, sizes=n.sizes), n.target) for n in NETWORKS]
    res = Results()
    for prob, target in networks:
        rows = step_rows(prob, target, number, repeat, warmup, torch)
        res.rows += rows.rows
        res.notes += [n for n in rows.notes if n not in res.notes]
    if overhead:
        res.extend(overhead_rows(number, repeat, warmup, torch))
    return res
