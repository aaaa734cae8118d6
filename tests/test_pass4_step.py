"""Fourth speed pass, layers and optimizer step: every fast path gives the bits of the general path.

The general path of ``SGD`` is forced with a subclass whose ``update`` is its own (the fast path is
only taken when ``update`` is SGD's); the expected weights are also computed by the NumPy formulas
written out here (``w - lr*g``; ``v = m*v - lr*g``, ``w + v``).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_loss as tl
from loop_reference import sgd_update
from tinygrad_loss import Tensor, optim


class GeneralSGD(optim.SGD):
    """SGD through ``Optimizer._apply`` and ``update`` (an overridden ``update`` turns the fast path off)."""

    def update(self, w, g, state, lr):
        return optim.SGD.update(self, w, g, state, lr)


def _weights(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal(3).astype(dtype),
            np.array([-0.0, 0.0, 1.5], dtype)]


def _grads(dtype, step):
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal(3).astype(dtype),
            np.array([1.0, -1.0, 0.25], dtype)]


def _train(cls, dtype, steps, **kw):
    ps = [Tensor(w, requires_grad=True) for w in _weights(dtype)]
    opt = cls(ps, **kw)
    for s in range(steps):
        for p, g in zip(ps, _grads(dtype, s)):
            p.grad = Tensor(g)
        opt.step()
    return [p.data for p in ps], opt


def _numpy_sgd(dtype, steps, lr, momentum=0.0):
    ws = _weights(dtype)
    vs = [np.zeros_like(w) for w in ws]
    for s in range(steps):
        for w, v, g in zip(ws, vs, _grads(dtype, s)):
            sgd_update(w, v, g, lr, momentum)
    return ws


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("lr,momentum", [(0.01, 0.0), (0.3, 0.0), (0.01, 0.9), (0.1, 0.5), (0.0, 0.0), (-0.0, 0.0)])
def test_sgd_fast_step_gives_the_bits_of_the_general_path_and_of_the_numpy_formula(dtype, lr, momentum):
    fast, opt = _train(optim.SGD, dtype, 4, learning_rate=lr, momentum=momentum)
    general, _ = _train(GeneralSGD, dtype, 4, learning_rate=lr, momentum=momentum)
    numpy_ = _numpy_sgd(dtype, 4, lr, momentum)
    for a, b, c in zip(fast, general, numpy_):
        assert a.dtype == b.dtype == dtype
        assert a.tobytes() == b.tobytes() == c.tobytes()  # bits, signs of zeros included
    assert opt.iterations == 4
    if momentum:
        _, gopt = _train(GeneralSGD, dtype, 4, learning_rate=lr, momentum=momentum)
        for s, t in zip(opt.state, gopt.state):
            assert s["momentum"].tobytes() == t["momentum"].tobytes()


def test_a_minus_zero_rate_keeps_its_sign_against_a_minus_zero_weight():
    # -0.0 - (-0.0 * 1) is 0.0 but -0.0 - (0.0 * 1) is -0.0: the cached constant must not mix them up
    for lr in (0.0, -0.0, 0.0):
        p = Tensor(np.array([-0.0, -0.0], np.float32), requires_grad=True)
        q = Tensor(np.array([-0.0, -0.0], np.float32), requires_grad=True)
        p.grad = q.grad = Tensor(np.ones(2, np.float32))
        optim.SGD([p], learning_rate=lr).step()
        GeneralSGD([q], learning_rate=lr).step()
        assert p.data.tobytes() == q.data.tobytes() == (np.float32(-0.0) - np.float32(lr)).tobytes() * 2


@pytest.mark.parametrize("dtype,lr", [(np.float16, 1e5), (np.float32, 1e39)])
def test_a_rate_too_large_for_the_dtype_takes_numpys_own_conversion(dtype, lr):
    ws = []
    for cls in (optim.SGD, GeneralSGD):
        p = Tensor(np.ones(3, dtype), requires_grad=True)
        p.grad = Tensor(np.array([0.0, 1.0, -1.0], dtype))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with np.errstate(all="ignore"):
                cls([p], learning_rate=lr).step()
        ws.append((p.data.tobytes(), p.data.dtype))
    assert ws[0] == ws[1]


def test_a_learning_rate_changed_between_steps_is_used_at_the_next_step():
    ps_fast = [Tensor(np.ones(3, np.float32), requires_grad=True)]
    ps_gen = [Tensor(np.ones(3, np.float32), requires_grad=True)]
    fast, gen = optim.SGD(ps_fast, learning_rate=0.1), GeneralSGD(ps_gen, learning_rate=0.1)
    for lr in (0.1, 0.25, 0.1, 0.7):
        for opt, ps in ((fast, ps_fast), (gen, ps_gen)):
            opt.learning_rate = lr
            ps[0].grad = Tensor(np.array([1.0, 2.0, 3.0], np.float32))
            opt.step()
    assert ps_fast[0].data.tobytes() == ps_gen[0].data.tobytes()
    expected = np.ones(3, np.float32)
    for lr in (0.1, 0.25, 0.1, 0.7):
        expected -= lr * np.array([1.0, 2.0, 3.0], np.float32)
    assert ps_fast[0].data.tobytes() == expected.tobytes()


def test_mixed_dtypes_and_gradients_of_another_dtype_or_kind_give_the_general_result():
    def run(cls):
        a = Tensor(np.ones(2, np.float64), requires_grad=True)
        b = Tensor(np.ones(2, np.float32), requires_grad=True)
        c = Tensor(np.ones(2, np.float32), requires_grad=True)
        a.grad = Tensor(np.array([0.1, 0.2]))
        b.grad = np.array([0.1, 0.2])       # float64 gradient for a float32 weight: cast
        c.grad = [0.3, 0.4]                  # a list: converted
        cls([a, b, c], learning_rate=0.3).step()
        return [t.data.tobytes() for t in (a, b, c)], [t.data.dtype for t in (a, b, c)]
    assert run(optim.SGD) == run(GeneralSGD)


def test_a_bad_gradient_after_good_ones_changes_nothing_and_keeps_the_message():
    ps = [Tensor(np.ones((2, 3), np.float32), requires_grad=True),
          Tensor(np.ones(3, np.float32), requires_grad=True)]
    before = [p.data.copy() for p in ps]
    ps[0].grad = Tensor(np.ones((2, 3), np.float32))
    ps[1].grad = Tensor(np.ones((1, 3), np.float32))  # would broadcast in NumPy: refused
    opt = optim.SGD(ps, momentum=0.9)
    with pytest.raises(ValueError, match=r"^SGD.step: gradient of shape \(1, 3\) for parameter of shape \(3,\)$"):
        opt.step()
    assert all(np.array_equal(p.data, b) for p, b in zip(ps, before))
    assert opt.iterations == 0 and all(not st["momentum"].any() for st in opt.state)
    assert all(p._version == 0 for p in ps)


def test_the_fast_step_bumps_versions_and_a_detached_alias_so_old_graphs_are_refused():
    p = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    d = p.detach()
    y = (p * p).sum()
    z = (d * Tensor(np.ones(2, np.float32), requires_grad=True)).sum()
    p.grad = Tensor(np.ones(2, np.float32))
    optim.SGD([p], learning_rate=0.5).step()
    assert p._version == 1 and d._version == 1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_the_fast_step_records_nothing_and_leaves_the_grad_mode_as_it_was():
    p = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    p.grad = Tensor(np.ones(2, np.float32))
    with tl.no_grad():
        optim.SGD([p], learning_rate=0.5).step()
        assert not tl.is_grad_enabled()
    optim.SGD([p], learning_rate=0.5).step()
    assert tl.is_grad_enabled()


def test_the_usual_steps_take_the_fast_path_and_the_others_the_general_one(monkeypatch):
    calls = []
    general = optim.Optimizer._apply
    monkeypatch.setattr(optim.Optimizer, "_apply", lambda self, *a: (calls.append(a[0]), general(self, *a))[1])
    _train(optim.SGD, np.float32, 2, learning_rate=0.1)
    _train(optim.SGD, np.float32, 2, learning_rate=0.1, momentum=0.9)
    assert calls == []
    _train(optim.SGD, np.float32, 1, learning_rate=0.1, nesterov=True, momentum=0.9)
    _train(GeneralSGD, np.float32, 1, learning_rate=0.1)
    with np.errstate(all="ignore"):
        _train(optim.SGD, np.float16, 1, learning_rate=1e5)
    assert calls == ["step"] * 3


@pytest.mark.parametrize("kw", [{"nesterov": True, "momentum": 0.9}, {"weight_decay": 0.1}, {"clipnorm": 0.5},
                                {"clipvalue": 0.1}, {"global_clipnorm": 0.5},
                                {"learning_rate": optim.ExponentialDecay(0.1, 2, 0.5)}])
def test_settings_outside_the_fast_path_give_the_general_result(kw):
    fast, _ = _train(optim.SGD, np.float32, 3, **kw)
    general, _ = _train(GeneralSGD, np.float32, 3, **kw)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(fast, general))
