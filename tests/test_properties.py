"""Property tests (hypothesis): shapes and values are drawn, gradients compared with NumPy formulas.

The examples are random: tests/conftest.py picks a seed per run (printed in the pytest header and
under a failure; ``HYPOTHESIS_SEED=<n>`` replays it) and ``HYPOTHESIS_PROFILE=thorough`` draws
1000 examples per test instead of 50. The strategies are built to reach the cases that break
autodiff code: axis tuples in any order (permutations that are not their own inverse), repeated
indices, ties (values drawn from a small grid as often as from the reals), and broadcasting in
both directions at once ((3, 1) against (1, 4)). The last tests check with ``find`` that each of
those cases is reachable.
"""
import numpy as np
import pytest
from hypothesis import find, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_loss as tg
from tinygrad_loss import Tensor, ops

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
GRID = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)  # exactly representable: equal draws are exact ties


def values(shape, lo=-3.0, hi=3.0):
    """Arrays whose elements are half the time from a small grid, so ties are common."""
    grid = [v for v in GRID if lo <= v <= hi] or [lo]
    elements = st.one_of(st.floats(lo, hi, allow_nan=False, width=64), st.sampled_from(grid))
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def broadcast_pair(draw, max_dims=4, max_side=3):
    """Two shapes that broadcast to a drawn result shape; each input independently drops leading axes
    and squeezes axes to 1, so either side (or both, on different axes) may be the one stretched."""
    result = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side))
    shapes = []
    for _ in range(2):
        nd = draw(st.integers(0, len(result)))
        tail = result[len(result) - nd:]
        shapes.append(tuple(1 if draw(st.booleans()) else n for n in tail))
    return shapes[0], shapes[1], tuple(np.broadcast_shapes(*shapes))  # may be smaller than result


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


@given(data=st.data(), name=st.sampled_from(sorted(PARTIALS)), shapes=broadcast_pair())
def test_broadcasting_binary_op_gradient_is_unbroadcast_elementwise_gradient(data, name, shapes):
    sa, sb, result = shapes
    lo = 0.5 if name in ("pow", "div") else -3.0  # positive base for pow, divisor away from 0
    a = data.draw(values(sa, lo, 3.0))
    b = data.draw(values(sb, lo, 3.0))
    w = data.draw(values(result))
    fwd, da, db = PARTIALS[name]
    A, B = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = getattr(ops, name)(A, B)
    assert out.shape == result
    np.testing.assert_allclose(out.data, fwd(a, b), rtol=1e-12)
    (out * Tensor(w)).sum().backward()
    assert A.grad.shape == sa and B.grad.shape == sb
    np.testing.assert_allclose(A.grad.data, np_unbroadcast(w * da(a, b), sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(B.grad.data, np_unbroadcast(w * db(a, b), sb), rtol=1e-10, atol=1e-12)


@st.composite
def shape_and_axes(draw, min_side=1, max_dims=4):
    """A shape and an axis argument: None, one int, or a tuple of distinct axes in any order, each
    written non-negative or negative; and keepdims."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=min_side, max_side=4))
    nd = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd, nd - 1))
    else:
        order = draw(st.permutations(range(nd)))
        k = draw(st.integers(1, nd))
        axis = tuple(ax - nd if draw(st.booleans()) else ax for ax in order[:k])
    return shape, axis, draw(st.booleans())


def _axes(axis, nd):
    return tuple(range(nd)) if axis is None else tuple(sorted(a % nd for a in np.atleast_1d(axis)))


def _moves_axes_in_a_cycle(shape, axis):
    """True when reducing over ``axis`` means moving the kept axes in front by a permutation that is
    not its own inverse (e.g. axes (0, 1) of a 3-D tensor: (2, 0, 1), inverse (1, 2, 0))."""
    nd = len(shape)
    axes = _axes(axis, nd)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    return len(axes) > 1 and list(np.argsort(perm)) != perm


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
    w_kd = w if keepdims else np.expand_dims(w, _axes(axis, x.ndim))
    expected = np.broadcast_to(w_kd, shape) / (n if name == "mean" else 1)
    np.testing.assert_allclose(X.grad.data, expected, rtol=1e-12)


@given(sak=shape_and_axes(), data=st.data(), name=st.sampled_from(["max", "min"]))
def test_max_and_min_split_the_gradient_evenly_between_ties(sak, data, name):
    shape, axis, keepdims = sak
    x = data.draw(values(shape))
    X = Tensor(x, requires_grad=True)
    out = getattr(ops, name)(X, axis=axis, keepdims=keepdims)
    ref = getattr(np, name)(x, axis=axis, keepdims=True)
    np.testing.assert_array_equal(out.data, ref if keepdims else np.squeeze(ref, _axes(axis, x.ndim)))
    w = data.draw(values(out.shape))
    (out * Tensor(w)).sum().backward()
    hit = (x == ref).astype(np.float64)
    w_kd = w if keepdims else np.expand_dims(w, _axes(axis, x.ndim))
    expected = w_kd * hit / hit.sum(axis=_axes(axis, x.ndim), keepdims=True)
    np.testing.assert_allclose(X.grad.data, expected, rtol=1e-12, atol=1e-15)


@given(sak=shape_and_axes(), data=st.data())
def test_logsumexp_over_random_axes_is_shift_invariant_and_has_softmax_gradient(sak, data):
    shape, axis, keepdims = sak
    x = data.draw(values(shape))
    c = data.draw(st.sampled_from([0.0, 1e4, -1e4]))
    X = Tensor(x + c, requires_grad=True)
    out = ops.logsumexp(X, axis=axis, keepdims=keepdims)
    ref = np.log(np.exp(x).sum(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(out.data - c, ref, rtol=1e-9, atol=1e-9 * (1 + abs(c)))
    w = data.draw(values(out.shape))
    (out * Tensor(w)).sum().backward()
    e = np.exp(x)
    w_kd = w if keepdims else np.expand_dims(w, _axes(axis, x.ndim))
    np.testing.assert_allclose(X.grad.data, w_kd * e / e.sum(axis=axis, keepdims=True), rtol=1e-9, atol=1e-12)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data(),
       name=st.sampled_from(["softmax", "log_softmax"]))
def test_softmax_and_log_softmax_vjps_along_any_axis(shape, data, name):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(values(shape))
    g = data.draw(values(shape))
    s = np.exp(x - x.max(axis=axis, keepdims=True))
    s /= s.sum(axis=axis, keepdims=True)
    X = Tensor(x, requires_grad=True)
    getattr(ops, name)(X, axis=axis).backward(gradient=g)
    if name == "softmax":
        expected = s * (g - (g * s).sum(axis=axis, keepdims=True))
    else:
        expected = g - s * g.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(X.grad.data, expected, rtol=1e-9, atol=1e-12)


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    ba, bb, _ = draw(broadcast_pair(max_dims=2))
    sa = draw(st.sampled_from([(k,), ba + (n, k)]))
    sb = draw(st.sampled_from([(k,), bb + (k, m)]))
    return sa, sb


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


@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, max_side=3), data=st.data())
def test_permute_gradient_is_inverse_permutation(shape, data):
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    x = data.draw(values(shape))
    X = Tensor(x, requires_grad=True)
    y = X.permute(perm)
    np.testing.assert_array_equal(y.data, np.transpose(x, perm))
    w = data.draw(values(y.shape))
    (y * Tensor(w)).sum().backward()
    np.testing.assert_array_equal(X.grad.data, np.transpose(w, np.argsort(perm)))


@st.composite
def index_list(draw, n):
    """Indices into an axis of length n (negative ones too), with at least one repeated index half the time."""
    idx = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=8))
    if draw(st.booleans()):
        i = draw(st.sampled_from(idx))
        idx.insert(draw(st.integers(0, len(idx))), i - n if i >= 0 and draw(st.booleans()) else i)
    return idx


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_integer_array_indexing_gradient_scatter_adds(shape, data):
    idx = np.array(data.draw(index_list(shape[0])))
    x = data.draw(values(shape))
    X = Tensor(x, requires_grad=True)
    y = X[idx]
    np.testing.assert_array_equal(y.data, x[idx])
    w = data.draw(values(y.shape))
    (y * Tensor(w)).sum().backward()
    expected = np.zeros(shape)
    for j, i in enumerate(idx):  # a plain loop: every occurrence of an index adds its gradient
        expected[i] += w[j]
    np.testing.assert_allclose(X.grad.data, expected, rtol=1e-12, atol=1e-15)


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


@given(x=values(hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), -50, 50),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_softmax_rows_are_distributions_and_log_softmax_agrees(x, dtype):
    t = Tensor(x.astype(dtype) * 200)  # up to magnitude 1e4
    s, ls = ops.softmax(t), ops.log_softmax(t)
    assert s.dtype == dtype and np.all(np.isfinite(s.data)) and np.all(np.isfinite(ls.data))
    assert np.all(s.data >= 0)
    np.testing.assert_allclose(s.data.sum(axis=-1), 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(np.exp(ls.data), s.data, atol=1e-6)


# --- the strategies reach the cases they are meant to reach ----------------------------------------
# ``find`` searches a strategy for an example satisfying a condition and raises if it finds none.

REACH = settings(max_examples=2000, database=None, deadline=None, derandomize=True)


@pytest.mark.parametrize("what, strategy, condition", [
    ("reduction axes moved by a cycle (not an involution)", shape_and_axes(),
     lambda sak: _moves_axes_in_a_cycle(sak[0], sak[1])),
    ("axis tuple given out of order with a negative axis", shape_and_axes(),
     lambda sak: isinstance(sak[1], tuple) and list(sak[1]) != sorted(sak[1]) and min(sak[1]) < 0),
    ("broadcasting in both directions at once", broadcast_pair(),
     lambda p: len(p[0]) == len(p[1]) == 2 and p[0][0] == 1 < p[1][0] and p[1][1] == 1 < p[0][1]),
    ("one side gains leading axes", broadcast_pair(), lambda p: len(p[0]) + 1 < len(p[1]) and len(p[1]) >= 3),
    ("a repeated index, once negative", index_list(4), lambda idx: any(i != j and i % 4 == j % 4
                                                                       for i in idx for j in idx)),
    ("a tie for the maximum", values((3, 2)), lambda x: (x == x.max()).sum() >= 2 and x.max() != 0),
])
def test_strategies_reach(what, strategy, condition):
    assert condition(find(strategy, condition, settings=REACH)), what
