"""Property tests (hypothesis): shapes and values are drawn, gradients compared with NumPy formulas.

Derandomized and small, so the file runs in seconds and always draws the same examples.
"""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_loss as tg
from tinygrad_loss import Tensor, ops

SETTINGS = settings(derandomize=True, deadline=None, max_examples=40, database=None)

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def values(shape, lo=-3.0, hi=3.0):
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, allow_nan=False, width=64))


def np_unbroadcast(g, shape):
    """Reference written from the definition: sum over the axes that broadcasting added or stretched."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


# elementwise partial derivatives of each binary op, written independently of the library
PARTIALS = {
    "add": (np.add, lambda a, b: np.ones_like(a + b), lambda a, b: np.ones_like(a + b)),
    "sub": (np.subtract, lambda a, b: np.ones_like(a + b), lambda a, b: -np.ones_like(a + b)),
    "mul": (np.multiply, lambda a, b: b + 0 * a, lambda a, b: a + 0 * b),
    "div": (np.divide, lambda a, b: 1 / b + 0 * a, lambda a, b: -a / b ** 2),
    "pow": (np.power, lambda a, b: b * a ** (b - 1), lambda a, b: a ** b * np.log(a)),
    "maximum": (np.maximum, lambda a, b: (a > b) + 0.5 * (a == b), lambda a, b: (b > a) + 0.5 * (a == b)),
    "minimum": (np.minimum, lambda a, b: (a < b) + 0.5 * (a == b), lambda a, b: (b < a) + 0.5 * (a == b)),
}


@SETTINGS
@given(data=st.data(), name=st.sampled_from(sorted(PARTIALS)))
def test_broadcasting_binary_op_gradient_is_unbroadcast_elementwise_gradient(data, name):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    sa, sb = shapes.input_shapes
    lo = 0.5 if name in ("pow", "div") else -3.0  # positive base for pow, divisor away from 0
    a = data.draw(values(sa, lo, 3.0))
    b = data.draw(values(sb, lo, 3.0))
    w = data.draw(values(shapes.result_shape))
    fwd, da, db = PARTIALS[name]
    A, B = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = getattr(ops, name)(A, B)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, fwd(a, b), rtol=1e-12)
    (out * Tensor(w)).sum().backward()
    assert A.grad.shape == sa and B.grad.shape == sb
    np.testing.assert_allclose(A.grad.data, np_unbroadcast(w * da(a, b), sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(B.grad.data, np_unbroadcast(w * db(a, b), sb), rtol=1e-10, atol=1e-12)


@st.composite
def shape_and_axes(draw, min_side=1):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=min_side, max_side=4))
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd, nd - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)))
    return shape, axis, draw(st.booleans())


@SETTINGS
@given(sak=shape_and_axes(), data=st.data(), name=st.sampled_from(["sum", "mean"]))
def test_sum_and_mean_over_random_axes(sak, data, name):
    shape, axis, keepdims = sak
    x = data.draw(values(shape))
    X = Tensor(x, requires_grad=True)
    out = getattr(ops, name)(X, axis=axis, keepdims=keepdims)
    ref = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.data, ref, rtol=1e-12, atol=1e-12)
    w = data.draw(values(ref.shape))
    (out * Tensor(w)).sum().backward()
    n = x.size / max(ref.size, 1)                    # elements folded into each output
    w_kd = w if keepdims else np.expand_dims(w, tuple(range(x.ndim)) if axis is None else axis)
    expected = np.broadcast_to(w_kd, shape) / (n if name == "mean" else 1)
    np.testing.assert_allclose(X.grad.data, expected, rtol=1e-12)


@SETTINGS
@given(sak=shape_and_axes(), data=st.data())
def test_logsumexp_over_random_axes_is_shift_invariant_and_has_softmax_gradient(sak, data):
    shape, axis, keepdims = sak
    x = data.draw(values(shape))
    c = data.draw(st.sampled_from([0.0, 1e4, -1e4]))
    X = Tensor(x + c, requires_grad=True)
    out = ops.logsumexp(X, axis=axis, keepdims=keepdims)
    ref = np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(out.data - c, ref, rtol=1e-9, atol=1e-9 * (1 + abs(c)))
    out.sum().backward()
    e = np.exp(x)
    np.testing.assert_allclose(X.grad.data, e / e.sum(axis=axis, keepdims=True), rtol=1e-9, atol=1e-12)


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    ba, bb = batch.input_shapes
    sa = draw(st.sampled_from([(k,), ba + (n, k)]))
    sb = draw(st.sampled_from([(k,), bb + (k, m)]))
    return sa, sb


@SETTINGS
@given(shapes=matmul_shapes(), data=st.data())
def test_matmul_shapes_values_and_gradients(shapes, data):
    sa, sb = shapes
    a, b = data.draw(values(sa)), data.draw(values(sb))
    out = ops.matmul(Tensor(a), Tensor(b))
    ref = np.matmul(a, b)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.data, ref, rtol=1e-10, atol=1e-10)
    res = tg.gradcheck(ops.matmul, a, b)
    assert res, str(res)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_permute_gradient_is_inverse_permutation(shape, data):
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    x = data.draw(values(shape))
    X = Tensor(x, requires_grad=True)
    y = X.permute(perm)
    np.testing.assert_array_equal(y.data, np.transpose(x, perm))
    w = data.draw(values(y.shape))
    (y * Tensor(w)).sum().backward()
    np.testing.assert_array_equal(X.grad.data, np.transpose(w, np.argsort(perm)))


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_integer_array_indexing_gradient_scatter_adds(shape, data):
    idx = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=8)))
    x = data.draw(values(shape))
    X = Tensor(x, requires_grad=True)
    y = X[idx]
    np.testing.assert_array_equal(y.data, x[idx])
    w = data.draw(values(y.shape))
    (y * Tensor(w)).sum().backward()
    expected = np.zeros(shape)
    for j, i in enumerate(idx):  # a plain loop: every occurrence of an index adds its gradient
        expected[i] += w[j]
    np.testing.assert_allclose(X.grad.data, expected, rtol=1e-12)


@SETTINGS
@given(shape=small_shapes, data=st.data())
def test_reshape_round_trip_and_gradient(shape, data):
    x = data.draw(values(shape))
    X = Tensor(x, requires_grad=True)
    flat = X.reshape(-1)
    back = flat.reshape(shape)
    np.testing.assert_array_equal(back.data, x)
    w = data.draw(values(shape))
    (back * Tensor(w)).sum().backward()
    np.testing.assert_array_equal(X.grad.data, w)


@SETTINGS
@given(x=values(hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), -50, 50),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_softmax_rows_are_distributions_and_log_softmax_agrees(x, dtype):
    t = Tensor(x.astype(dtype) * 200)  # up to magnitude 1e4
    s, ls = ops.softmax(t), ops.log_softmax(t)
    assert s.dtype == dtype and np.all(np.isfinite(s.data)) and np.all(np.isfinite(ls.data))
    assert np.all(s.data >= 0)
    np.testing.assert_allclose(s.data.sum(axis=-1), 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(np.exp(ls.data), s.data, atol=1e-6)
