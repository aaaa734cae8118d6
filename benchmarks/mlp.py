"""Benchmark 1: one training step of a 784-256-10 ReLU MLP (float32, batch 128).

Loss: softmax cross-entropy from logits (mean over the batch); update: plain SGD.
The same step is written four ways, all starting from the same weights and batch:

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

from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

import tinygrad_loss as tg
from tinygrad_loss import Tensor

from .timing import Results, Row, measure, optional_torch

N_IN, N_HIDDEN, N_OUT, BATCH, LR = 784, 256, 10, 128, 0.01
TARGET = 1.15  # ours / NumPy


class Problem:
    """Seeded weights (Glorot-uniform kernels, zero biases) and one batch of inputs and one-hot labels."""

    def __init__(self, seed: int = 0, batch: int = BATCH, sizes: Tuple[int, int, int] = (N_IN, N_HIDDEN, N_OUT)):
        rng = np.random.default_rng(seed)
        n_in, n_hidden, n_out = sizes

        def glorot(fan_in: int, fan_out: int) -> np.ndarray:
            lim = np.sqrt(6.0 / (fan_in + fan_out))
            return rng.uniform(-lim, lim, size=(fan_in, fan_out)).astype(np.float32)

        self.params = [glorot(n_in, n_hidden), np.zeros(n_hidden, np.float32),
                       glorot(n_hidden, n_out), np.zeros(n_out, np.float32)]
        self.x = rng.standard_normal((batch, n_in)).astype(np.float32)
        self.labels = rng.integers(0, n_out, size=batch)
        self.onehot = np.eye(n_out, dtype=np.float32)[self.labels]

    def weights(self) -> List[np.ndarray]:
        """Fresh copies of the initial weights (each contender trains its own)."""
        return [p.copy() for p in self.params]


# --- NumPy: the floor ------------------------------------------------------------------------

def numpy_step(params: List[np.ndarray], x: np.ndarray, onehot: np.ndarray, lr: float = LR) -> float:
    """Forward, backward and SGD update by hand; updates ``params`` in place, returns the loss."""
    w1, b1, w2, b2 = params
    n = x.shape[0]
    h = x @ w1 + b1
    a = np.maximum(h, 0)
    z = a @ w2 + b2
    zs = z - z.max(axis=1, keepdims=True)
    e = np.exp(zs)
    s = e.sum(axis=1, keepdims=True)
    loss = -(onehot * (zs - np.log(s))).sum() / n
    dz = (e / s - onehot) / n          # d loss / d logits = (softmax - onehot) / n
    dw2 = a.T @ dz
    db2 = dz.sum(axis=0)
    dh = (dz @ w2.T) * (h > 0)
    dw1 = x.T @ dh
    db1 = dh.sum(axis=0)
    w1 -= lr * dw1
    b1 -= lr * db1
    w2 -= lr * dw2
    b2 -= lr * db2
    return float(loss)


def make_numpy(problem: Problem) -> Tuple[Callable[[], float], List[np.ndarray]]:
    params = problem.weights()
    x, onehot = problem.x, problem.onehot
    return (lambda: numpy_step(params, x, onehot)), params


# --- ours, raw Tensor ops ---------------------------------------------------------------------

def ops_step(params: List[Tensor], x: Tensor, onehot: Tensor, lr: float = LR, intermediate_grads: bool = True) -> float:
    """The same step with tinygrad_loss primitives; gradients from ``backward()``."""
    w1, b1, w2, b2 = params
    logits = (x @ w1 + b1).relu() @ w2 + b2
    loss = -(tg.log_softmax(logits, axis=-1) * onehot).sum(axis=-1).mean()
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

    n_in, n_hidden = problem.params[0].shape
    model = nn.Sequential([nn.Dense(n_hidden, activation="relu", input_shape=(n_in,)),
                           nn.Dense(problem.onehot.shape[1])])
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
    w1, b1, w2, b2 = problem.params
    l1, l2 = torch.nn.Linear(w1.shape[0], w1.shape[1]), torch.nn.Linear(w2.shape[0], w2.shape[1])
    with torch.no_grad():  # nn.Linear stores the kernel transposed: (out, in)
        l1.weight.copy_(torch.from_numpy(w1.T.copy()))
        l1.bias.copy_(torch.from_numpy(b1))
        l2.weight.copy_(torch.from_numpy(w2.T.copy()))
        l2.bias.copy_(torch.from_numpy(b2))
    model = torch.nn.Sequential(l1, torch.nn.ReLU(), l2)
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

    return step, [l1.weight, l1.bias, l2.weight, l2.bias]


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


def run(number: int = 10, repeat: int = 31, warmup: int = 2, problem: Optional[Problem] = None,
        use_torch: bool = True, overhead: bool = True) -> Results:
    torch = optional_torch(use_torch)
    problem = problem or Problem()
    fns, notes = contenders(problem, torch)
    times = measure(fns, number=number, repeat=repeat, warmup=warmup)
    res = Results(notes=notes)
    base = times["NumPy (hand-written)"]
    n_in, n_hidden = problem.params[0].shape
    bench = f"MLP step {n_in}-{n_hidden}-{problem.onehot.shape[1]}, b={problem.x.shape[0]}"
    th = times.get("PyTorch CPU eager")
    for name, t in times.items():
        ours = name.startswith("ours")
        ratio = t / base
        res.add(Row(bench, name, t, ratio=ratio, ratio_of="NumPy", vs_torch=None if th is None else t / th,
                    target=f"<= {TARGET}" if ours else "", met=(ratio <= TARGET) if ours else None))
    if overhead:
        # The same step on a 3-4-2 network and a batch of 2: the arithmetic is free, so what is
        # left is each framework's per-step bookkeeping (graph, engine, layers, loss checks).
        tiny = Problem(seed=1, batch=2, sizes=(3, 4, 2))
        tfns, _ = contenders(tiny, torch)
        tt = measure(tfns, number=number * 20, repeat=repeat, warmup=warmup)
        floor = tt["NumPy (hand-written)"]
        th_over = tt["PyTorch CPU eager"] - floor if "PyTorch CPU eager" in tt else None
        for name, t in tt.items():
            if name != "NumPy (hand-written)":
                res.add(Row("MLP step overhead (3-4-2 net, b=2)", name, t - floor, ratio=t / floor, ratio_of="NumPy",
                            vs_torch=None if th_over is None else (t - floor) / th_over,
                            note="minus NumPy's step on the same tiny net"))
    return res
