"""Benchmarks for tinygrad_loss: how close to hand-written NumPy (our floor) and PyTorch CPU eager.

Run everything, in one process, and print one table of medians and ratios::

    python -m benchmarks            # or: python benchmarks/run.py, or: make bench
    python -m benchmarks --quick    # tiny repeat counts (a smoke run, numbers are noise)

Modules (one benchmark each):

- :mod:`benchmarks.mlp`        784-256-10 ReLU MLP training step (softmax cross-entropy from logits, SGD)
- :mod:`benchmarks.tiny_ops`   per-op overhead: 20 elementwise ops on ``(4,)`` tensors, forward + backward
- :mod:`benchmarks.reference`  the reference program: ``Dense(1)`` + MSE + SGD, 100 epochs of ``fit``
- :mod:`benchmarks.memory`     tracemalloc peak of one MLP step, and growth over many steps
- :mod:`benchmarks.hvp`        Hessian-vector product of an MLP (double backward) against PyTorch
- :mod:`benchmarks.scaling`    cost and memory per op of a chain of N ops, N = 10 ... 1,000,000
- :mod:`benchmarks.viz_bench`  ``to_dot`` on 1k and 10k-op chains, and ~300-node pictures through Graphviz

PyTorch is optional: when ``import torch`` fails, its rows are skipped with a note.
These are scripts, not tests: the test suite only smoke-runs them with tiny repeat counts.
"""
