"""The short paths of a training step (issue 15): a loss's reused name scope and cheaper input checks,
reduction's shortcut, the optimizer reading ``_grad`` and switching the grad mode inline, Dense making
its ReLU node directly, matmul's direct VJPs for two matrices. Each gives what the general path gives,
and bad input still fails the same way."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import Tensor, losses, ops, optim
from tinygrad_loss.nn import Dense, Sequential, activations

RNG = np.random.default_rng(7)
LOGITS = RNG.standard_normal((4, 3)).astype(np.float32)
ONEHOT = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]


def _ce_by_hand(y, z):
    z = z.astype(np.float64)
    logp = z - z.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    return -(y * logp).sum(axis=1).mean()


# --- losses -----------------------------------------------------------------------------------

def test_a_loss_inside_a_loss_and_after_an_error_records_the_right_scopes():
    ce = losses.CategoricalCrossentropy(from_logits=True)

    class Outer(losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mul(ce(y_true, y_pred), 1.0) + ops.mul(ops.sum(y_pred, axis=-1), 0.0)

    with pytest.raises(ValueError, match=r"CategoricalCrossentropy: y_true contains a non-finite value"):
        ce(np.full((4, 3), np.nan, np.float32), LOGITS)
    assert tl.current_scope() == ""  # the failed call left its scope
    with tl.name_scope("model"):
        out = Outer()(ONEHOT, Tensor(LOGITS, requires_grad=True))
        assert tl.current_scope() == "model"
    scopes = {t.scope for t in tl.visit_order(out) if t.op is not None}
    assert "model/Outer/CategoricalCrossentropy" in scopes and "model/Outer" in scopes
    assert not any(s.count("CategoricalCrossentropy") > 1 for s in scopes)
    assert tl.current_scope() == ""


def test_the_finiteness_and_range_checks_still_find_the_first_bad_entry():
    ce = losses.CategoricalCrossentropy(from_logits=True)
    bad = LOGITS.copy()
    bad[2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"y_pred contains a non-finite value \(-inf at index \(2, 1\)\)"):
        ce(ONEHOT, bad)
    y = ONEHOT.copy()
    y[3, 0] = np.float32(1.0000001)
    with pytest.raises(ValueError, match=r"y_true must be in \[0.0, 1.0\], got 1.0000001\d* at index \(3, 0\)"):
        ce(y, LOGITS)
    y[3, 0] = -1e-30
    with pytest.raises(ValueError, match=r"y_true must be in \[0.0, 1.0\], got -1.0000000\d*e-30 at index \(3, 0\)"):
        ce(y, LOGITS)
    y[3, 0] = -0.0  # the ends of the range are inside it
    assert np.isclose(float(ce(y, LOGITS).item()), _ce_by_hand(y, LOGITS), rtol=1e-6)
    big = np.full((4, 3), 3e38, np.float32)  # finite, though their sum is not (the count is exact)
    assert np.isfinite(ce(ONEHOT, big).item())
    with pytest.raises(ValueError, match=r"y_pred must be in \[0.0, 1.0\], got 1.5 at index \(0, 0\)"):
        losses.CategoricalCrossentropy()(ONEHOT, np.full((4, 3), 1.5, np.float32))


def test_a_reduction_assigned_after_construction_is_still_checked_at_the_call():
    ce = losses.CategoricalCrossentropy(from_logits=True)
    mean = ce(ONEHOT, LOGITS).item()
    assert np.isclose(mean, _ce_by_hand(ONEHOT, LOGITS), rtol=1e-6)
    ce.reduction = "sum"
    assert np.isclose(ce(ONEHOT, LOGITS).item(), 4 * mean, rtol=1e-6)
    ce.reduction = "mean"  # Keras's synonym, accepted at the call too
    assert ce(ONEHOT, LOGITS).item() == mean
    ce.reduction = "average"
    with pytest.raises(ValueError, match="CategoricalCrossentropy: reduction must be one of"):
        ce(ONEHOT, LOGITS)
    ce.reduction = 3
    with pytest.raises(TypeError, match="CategoricalCrossentropy: reduction must be a string"):
        ce(ONEHOT, LOGITS)


def test_the_mean_shortcut_is_only_taken_without_weights_or_mask():
    ce = losses.CategoricalCrossentropy(from_logits=True)
    w = np.array([1.0, 0.0, 2.0, 0.0], np.float32)
    per = [_ce_by_hand(ONEHOT[i:i + 1], LOGITS[i:i + 1]) for i in range(4)]
    assert np.isclose(ce(ONEHOT, LOGITS, sample_weight=w).item(), (per[0] + 2 * per[2]) / 4, rtol=1e-6)
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    assert np.isclose(sparse(np.array([0, 2, 1, 2]), LOGITS).item(), (per[0] + per[2]) / 2, rtol=1e-6)
    one = losses.MeanSquaredError()(np.float32(2.0), np.float32(5.0))  # a 0-d input: one sample
    assert one.shape == () and one.item() == 9.0


# --- optimizer --------------------------------------------------------------------------------

def _params():
    return [Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True),
            Tensor(np.ones(3, np.float32), requires_grad=True)]


def test_sgd_takes_a_gradient_stored_as_a_bare_array_or_a_list_as_it_is():
    ref, ps = _params(), _params()
    g = [np.full((2, 3), 0.5, np.float32), np.array([1.0, -1.0, 2.0], np.float32)]
    ref[0].grad, ref[1].grad = Tensor(g[0]), Tensor(g[1])
    ps[0].grad, ps[1].grad = g[0], g[1].tolist()
    optim.SGD(ref, learning_rate=0.1).step()
    optim.SGD(ps, learning_rate=0.1).step()
    for a, b in zip(ref, ps):
        assert a.data.dtype == b.data.dtype == np.float32 and np.array_equal(a.data, b.data)
    assert np.array_equal(ps[1].data, np.float32(1.0) - np.float32(0.1) * g[1])


def test_a_bad_gradient_is_refused_before_any_parameter_changes_and_names_the_method():
    ps = _params()
    before = [p.data.copy() for p in ps]
    ps[0].grad, ps[1].grad = Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones(4, np.float32))
    opt = optim.SGD(ps)
    with pytest.raises(ValueError, match=r"SGD.step: gradient of shape \(4,\) for parameter of shape \(3,\)"):
        opt.step()
    with pytest.raises(ValueError, match=r"SGD.apply_gradients: gradient of shape \(4,\)"):
        opt.apply_gradients([(np.ones((2, 3)), ps[0]), (np.ones(4), ps[1])])
    assert all(np.array_equal(p.data, b) for p, b in zip(ps, before)) and opt.iterations == 0


def test_updates_run_without_recording_and_the_grad_mode_comes_back_even_after_an_error():
    seen = []

    class Spy(optim.SGD):
        def update(self, w, g, state, lr):
            seen.append(tl.is_grad_enabled())
            if len(seen) == 3:
                raise KeyError("stop")
            super().update(w, g, state, lr)

    ps = _params()
    for p in ps:
        p.grad = Tensor(np.ones(p.shape, np.float32))
    opt = Spy(ps, learning_rate=0.5)
    opt.step()
    assert seen == [False, False] and tl.is_grad_enabled()
    with pytest.raises(KeyError):
        opt.step()
    assert tl.is_grad_enabled()
    with tl.no_grad():
        ps[0].grad = Tensor(np.ones((2, 3), np.float32))
        opt.iterations = 0
        seen.clear()
        optim.SGD(ps).step()
        assert not tl.is_grad_enabled()  # a step inside no_grad leaves it on
    assert tl.is_grad_enabled()


def test_clipping_still_applies_on_the_step_path():
    ps = _params()
    ps[0].grad = Tensor(np.full((2, 3), 4.0, np.float32))
    ps[1].grad = Tensor(np.array([3.0, 4.0, 0.0], np.float32))
    optim.SGD(ps, learning_rate=1.0, clipnorm=1.0).step()
    assert np.allclose(ps[1].data, [1 - 0.6, 1 - 0.8, 1.0])
    assert np.allclose(ps[0].data, np.arange(6).reshape(2, 3) - 4.0 / np.sqrt(96.0))


# --- Dense and matmul -------------------------------------------------------------------------

def test_dense_relu_is_the_registrys_relu_node_under_the_layers_scope():
    tl.nn.clear_session()
    layer = Dense(3, activation="relu", input_shape=(4,))
    x = Tensor(RNG.standard_normal((5, 4)).astype(np.float32))
    y = layer(x)
    expected = ops.relu(ops.add(ops.matmul(x, layer.kernel), layer.bias))
    assert y.op == "relu" and y.scope == "dense" and y.parents[0].op == "add"
    assert np.array_equal(y.data, expected.data)
    y.sum().backward()
    g_kernel = layer.kernel.grad.data.copy()
    layer.kernel.grad = None
    expected.sum().backward()
    assert np.array_equal(g_kernel, layer.kernel.grad.data)
    layer.activation = activations.get("tanh")  # a later assignment is what the layer applies
    assert layer(x).op == "tanh"


def test_a_models_step_with_plain_matrices_gives_numpys_gradients_bit_for_bit():
    tl.nn.clear_session()
    model = Sequential([Dense(5, activation="relu", input_shape=(4,)), Dense(3)])
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    w1, b1, w2, b2 = [p.data.copy() for p in model.parameters()]
    loss = losses.CategoricalCrossentropy(from_logits=True)(ONEHOT[[0, 1, 2, 3, 0, 1]], model(Tensor(x)))
    loss.backward()
    z1 = x @ w1 + b1
    logits = np.maximum(z1, 0) @ w2 + b2
    s = np.exp(logits - logits.max(axis=1, keepdims=True))
    dz = (s / s.sum(axis=1, keepdims=True) - ONEHOT[[0, 1, 2, 3, 0, 1]]) / 6
    k1, _, k2, _ = model.parameters()
    assert np.allclose(k2.grad.data, np.maximum(z1, 0).T @ dz, rtol=1e-5, atol=1e-7)
    assert np.allclose(k1.grad.data, x.T @ ((dz @ w2.T) * (z1 > 0)), rtol=1e-5, atol=1e-7)
    assert k1.grad.data.dtype == np.float32 and k1.grad.data.flags.writeable and k1.grad.data.base is None


def test_matmul_vjps_of_transposed_batched_and_vector_products_take_the_general_rule():
    a = Tensor(RNG.standard_normal((2, 3, 4)), requires_grad=True)
    b = Tensor(RNG.standard_normal((4, 5)), requires_grad=True)
    v = Tensor(RNG.standard_normal(4), requires_grad=True)
    (ops.matmul(a, b).sum() + ops.matmul(a, v).sum()).backward()
    assert np.allclose(a.grad.data, np.ones((2, 3, 5)) @ b.data.T + np.ones((2, 3, 1)) * v.data)
    assert np.allclose(b.grad.data, np.einsum("bik,bij->kj", a.data, np.ones((2, 3, 5))))
    assert np.allclose(v.grad.data, a.data.sum(axis=(0, 1)))
    assert tl.gradcheck(lambda p, q: ops.matmul(p, q), RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2)))
