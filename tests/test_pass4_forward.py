"""Fourth pass on the forward ops (docs/performance.md, *Forward ops, fourth pass*): each fast path gives
what the general path, or the NumPy formula written out, gives: the same bits (NaN signs included), the
same dtype, the same node (op, parents, scope) and the same errors."""
import math

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import _opkit, ops
from tinygrad_loss._opkit import make_node
from tinygrad_loss.tensor import is_lifted_constant

SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, -math.nan, 1e-45, -1e-45, 1e-310, -1e-310, 65504.0, -65504.0,
            88.7, -88.7, 104.0, -104.0, 710.0, -745.0, 3e38, -3e38, 1e300, -1e300, 0.5, -0.5, 20.0, -20.0]


def sigmoid_six_arrays(x):
    """The sigmoid forward of the third pass, written out: six NumPy calls, each making a new array."""
    zero, one, minus_one = (np.array(v, x.dtype) for v in (0, 1, -1))
    return np.exp(np.minimum(x, zero)) / (one + np.exp(np.copysign(x, minus_one)))


def values(dtype, n=3000, seed=4):
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        return np.concatenate([np.array(SPECIALS), rng.normal(0, 10, n), -np.exp(rng.uniform(-60, 60, n // 4)),
                               np.exp(rng.uniform(-60, 60, n // 4)), -np.exp(rng.uniform(-750, 710, n // 4))]
                              ).astype(dtype)


def same_bits(got, want):
    assert type(got) is np.ndarray and got.dtype == want.dtype and got.shape == want.shape
    got, want = np.ascontiguousarray(got).reshape(-1), np.ascontiguousarray(want).reshape(-1)
    if got.dtype == np.longdouble and np.finfo(np.longdouble).nmant == 63:  # x87: 10 bytes used, the rest padding
        got, want = got.view(np.uint8).reshape(-1, got.itemsize)[:, :10], want.view(np.uint8).reshape(-1, got.itemsize)[:, :10]
    assert got.tobytes() == want.tobytes()  # every bit: NaN signs and payloads, -0.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
def test_sigmoid_in_place_gives_the_bits_of_six_new_arrays(dtype):
    x = values(dtype)
    keep = x.copy()
    with np.errstate(all="ignore"):
        for n in (1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 64, 100, len(x)):  # every SIMD tail length
            same_bits(ops._sigmoid_np(x[:n]), sigmoid_six_arrays(x[:n]))
        same_bits(ops._sigmoid_np(x[1::3]), sigmoid_six_arrays(x[1::3]))  # a strided view
        m = x[:3000].reshape(60, 50)
        same_bits(ops._sigmoid_np(m.T), sigmoid_six_arrays(m.T))  # a transposed one
        same_bits(ops._sigmoid_np(m), sigmoid_six_arrays(m))
    assert x.tobytes() == keep.tobytes()  # the input is never written to


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_of_nan_keeps_the_sign_it_had(dtype):
    x = np.array([math.nan, -math.nan, math.nan, 1.0], dtype)
    with np.errstate(all="ignore"):
        same_bits(ops._sigmoid_np(x), sigmoid_six_arrays(x))
        for v in x:  # 0-d: NumPy gives scalars, which take the formula without the in-place calls
            got = ops.sigmoid(tl.Tensor(np.asarray(v))).data
            assert type(got) is np.ndarray and got.shape == () and got.dtype == x.dtype
            assert got.tobytes() == np.asarray(sigmoid_six_arrays(np.asarray(v)), dtype).tobytes()


def test_sigmoid_result_is_a_new_array_of_its_own():
    x = np.linspace(-5, 5, 12, dtype=np.float32)
    y = ops.sigmoid(tl.Tensor(x, requires_grad=True))
    assert y.data.base is None and y.data.flags.c_contiguous and y.data.flags.writeable
    assert not np.shares_memory(y.data, x)
    assert y.op == "sigmoid" and y.data.tobytes() == sigmoid_six_arrays(x).tobytes()
    g = tl.Tensor(np.linspace(-5, 5, 12), requires_grad=True)
    assert tl.gradcheck(ops.sigmoid, (g,))  # float64, against central finite differences


def test_sigmoid_of_non_native_and_non_float_data_as_before():
    be = np.array([-3.0, -0.0, 0.5, 40.0, np.nan], dtype=">f8")
    with np.errstate(all="ignore"):
        want = (np.exp(np.minimum(be, 0)) / (1.0 + np.exp(-np.abs(be)))).astype(be.dtype, copy=False)
    got = ops._sigmoid_np(be)
    assert got.dtype == np.dtype(">f8") and got.tobytes() == want.tobytes()
    i = np.array([-800, 3], np.int64)
    got = ops._sigmoid_np(i)
    assert got.dtype == np.int64 and got.tolist() == [0, 0]  # computed in float64, cast back, as before


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_relu_bits_are_maximum_with_zero(dtype):
    x = values(dtype, 500)
    with np.errstate(all="ignore"):
        same_bits(ops.relu(tl.Tensor(x)).data, np.maximum(x, np.array(0, dtype)))
    i = np.array([-2, 3], np.int64)
    got = ops._relu_np(i)
    assert got.dtype == np.int64 and got.tolist() == [0, 3]


def leaf(v, requires_grad=True, dtype=np.float32):
    return tl.Tensor(np.asarray(v, dtype=dtype), requires_grad=requires_grad)


def assert_same_node(got, want):
    assert type(got) is type(want) is tl.Tensor
    same_bits(got._data, want._data)
    assert got._op is want._op and got.requires_grad == want.requires_grad and got._saved is want._saved
    assert len(got._parents) == len(want._parents) and all(p is q for p, q in zip(got._parents, want._parents))
    assert (got.scope, got.name, got._saved_versions, got._version) == (want.scope, want.name,
                                                                       want._saved_versions, want._version)


OPERANDS = [("(4,) float32", lambda: leaf([0.5, -1.0, 2.0, 3.0])),
            ("0-d", lambda: leaf(0.75)),
            ("float64", lambda: leaf([0.5, -2.0], dtype=np.float64)),
            ("float16", lambda: leaf([0.5, -2.0], dtype=np.float16)),
            ("no grad", lambda: leaf([0.5, -2.0], requires_grad=False))]


@pytest.mark.parametrize("label, make", OPERANDS, ids=[o[0] for o in OPERANDS])
@pytest.mark.parametrize("name, ufunc", [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                                          ("div", np.true_divide), ("pow", np.power),
                                          ("maximum", np.maximum), ("minimum", np.minimum)])
@pytest.mark.parametrize("number", [0.5, -0.25, 3.0, -0.0, 1e-30])
def test_a_float_beside_a_tensor_finds_the_constant_lift_makes(label, make, name, ufunc, number):
    a = make()
    fn = getattr(ops, name)
    with tl.name_scope("Block"), np.errstate(all="ignore"):
        first = fn(a, number)   # the number lifted on first use (the general path)...
        again = fn(a, number)   # ...then found by the fast path
        c = _opkit.lift(number, a)
        want = make_node(ufunc(a._data, c._data), ops.OPS[name], (a, c))
    assert is_lifted_constant(c)
    assert_same_node(first, want)
    assert_same_node(again, want)
    assert again.scope == "Block"
    if again._parents:
        assert again._parents[1] is c and again._parents[1]._data.dtype == a._data.dtype


def test_the_float_fast_path_keeps_the_lift_rules():
    x32 = leaf([1.0, 2.0])
    assert (x32 * math.nan)._parents[1] is not (x32 * math.nan)._parents[1]  # a NaN is never kept
    assert np.isnan((x32 * math.nan).data).all()
    ints = tl.Tensor._wrap(np.array([1, 2], np.int64))
    got = ints * 0.5  # not a float tensor: the default dtype's constant, as lift() makes it
    assert got._parents[1] is _opkit.lift(0.5, None) and _opkit._LIFTED.get(np.dtype(np.int64)) is None
    assert got.dtype == (np.array([1, 2], np.int64) * np.asarray(0.5, np.float32)).dtype
    with pytest.warns(RuntimeWarning):  # a number that overflows the dtype: NumPy's warning, each time
        x16 = leaf([1.0], dtype=np.float16) * 1e6
    assert x16.dtype == np.float16 and np.isinf(x16.data).all()
    c = x32 * 0.5
    assert c._parents[1] is (0.5 * x32)._parents[0]  # one constant, on either side
    # a float subclass and a NumPy float are not Python floats: they take the general path
    assert (x32 * np.float64(0.5)).dtype == np.float32


def test_errors_of_binary_ops_unchanged():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^mul: shapes \(3,\) and \(2,\) cannot be broadcast together$"):
        x * leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=r"^add: operand 'a' of type str is not numeric$"):
        x + "a"
    with pytest.raises(TypeError, match=r"^sub: operand 'a' of type str is not numeric$"):
        "a" - x
    with pytest.raises(TypeError, match=r"^mul: operand None of type NoneType is not numeric$"):
        ops.mul(None, 0.5)


def _changed():
    t = leaf([[0.5, -2.0, 1.0], [3.0, 0.25, -1.0]])
    t.data += 1.0
    return t


SITUATIONS = [("requires grad", lambda: leaf([[0.5, -2.0, 1.0], [3.0, 0.25, -1.0]]), None),
              ("no grad needed", lambda: leaf([[0.5, -2.0, 1.0], [3.0, 0.25, -1.0]], requires_grad=False), None),
              ("no_grad", lambda: leaf([[0.5, -2.0, 1.0], [3.0, 0.25, -1.0]]), tl.no_grad),
              ("name scope", lambda: leaf([[0.5, -2.0, 1.0], [3.0, 0.25, -1.0]]), lambda: tl.name_scope("Head")),
              ("changed in place", _changed, None),
              ("float64", lambda: leaf([[0.5, -2.0], [1.0, 3.0]], dtype=np.float64), None),
              ("0-d", lambda: leaf(1.5), None)]


def _reduction_cases(a):
    nd = a.ndim
    cases = [("sum", {}), ("sum", {"keepdims": True}), ("mean", {}), ("max", {}), ("min", {"keepdims": True}),
             ("logsumexp", {}), ("log_softmax", {}), ("softmax", {})]
    if nd:
        cases += [("sum", {"axis": -1}), ("mean", {"axis": 0, "keepdims": True}), ("max", {"dim": 0}),
                  ("sum", {"axis": (0, -1) if nd > 1 else 0, "keepdim": True}), ("log_softmax", {"axis": 0}),
                  ("softmax", {"dim": 0})]
    return cases


@pytest.mark.parametrize("label, make, context", SITUATIONS, ids=[s[0] for s in SITUATIONS])
def test_reduction_and_along_axis_nodes_are_what_make_node_makes(label, make, context):
    import contextlib

    a = make()
    for name, kwargs in _reduction_cases(a):
        axis = kwargs.get("axis", kwargs.get("dim"))
        if name in ("log_softmax", "softmax"):  # the saved arguments: the normalised ones, by name
            saved = {"axes": ((-1 if axis is None else axis) % a.ndim,) if a.ndim else ()}
        else:
            axes = tuple(range(a.ndim)) if axis is None else tuple(sorted(np.atleast_1d(axis) % a.ndim))
            saved = {"axes": axes, "keepdims": kwargs.get("keepdims", kwargs.get("keepdim", False))}
        with (context or contextlib.nullcontext)():
            got = getattr(ops, name)(a, **kwargs)
            op = ops.OPS[name]
            want = make_node(op.forward(a._data, **saved), op, (a,), saved)
        assert_same_node_saved(got, want)
        assert (got._saved is None and got._parents == ()) if label == "no_grad" else got._saved == saved


def assert_same_node_saved(got, want):
    assert_same_node_but_saved(got, want)
    assert got._saved == want._saved


def assert_same_node_but_saved(got, want):
    assert type(got) is type(want) is tl.Tensor
    same_bits(got._data, want._data)
    assert got._op is want._op and got.requires_grad == want.requires_grad
    assert len(got._parents) == len(want._parents) and all(p is q for p, q in zip(got._parents, want._parents))
    assert (got.scope, got.name, got._saved_versions, got._version) == (want.scope, want.name,
                                                                       want._saved_versions, want._version)
    assert got._grad is None and got._pending is None


def test_full_reduction_gives_a_0d_array_and_its_gradient():
    a = leaf([[0.5, -2.0, 1.0], [3.0, 0.25, -1.0]], dtype=np.float64)
    s = ops.sum(a)
    assert type(s._data) is np.ndarray and s.shape == () and s.op == "sum" and s._parents == (a,)
    s.backward()
    np.testing.assert_array_equal(a.grad.data, np.ones((2, 3)))
    assert tl.gradcheck(lambda t: ops.log_softmax(t, axis=0).sum(), (a,))
    assert tl.gradcheck(lambda t: ops.mean(t, axis=1), (a,))


def test_anomaly_check_runs_on_the_reduction_and_along_axis_paths():
    big = leaf([[60000.0, 60000.0]], dtype=np.float16)
    x = leaf([[1.0, math.inf]])
    with tl.detect_anomaly(), np.errstate(all="ignore"):
        with pytest.raises(tl.AnomalyError, match="op 'sum'"):
            ops.sum(big)  # overflows float16
        with pytest.raises(tl.AnomalyError, match="op 'log_softmax'"):
            ops.log_softmax(x)
    with np.errstate(all="ignore"):
        assert ops.sum(big).data == np.inf and np.isnan(ops.log_softmax(x).data).any()  # off again: no check


def test_reduction_errors_unchanged():
    x = leaf([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"^mean: cannot reduce over an empty axis"):
        ops.mean(leaf(np.zeros((0, 2))), axis=0)
    with pytest.raises(ValueError, match=r"^log_softmax: cannot reduce over an empty axis"):
        ops.log_softmax(leaf(np.zeros((2, 0))))
    with pytest.raises(TypeError, match=r"^sum: got both axis=0 and dim=1"):
        ops.sum(x, 0, dim=1)
    with pytest.raises(TypeError, match=r"^sum: keepdims"):
        ops.sum(x, keepdims="yes")


@pytest.mark.parametrize("n_parents", [1, 2, 3, 4])
def test_custom_ops_pass_each_parent_array_to_the_forward(n_parents):
    parts = [leaf(np.arange(6.0).reshape(2, 3) + 10 * i, requires_grad=i % 2 == 0) for i in range(n_parents)]
    with tl.name_scope("Join"):
        got = ops.concatenate(parts, axis=1)
        want = make_node(np.concatenate([p._data for p in parts], axis=1), ops.OPS["concatenate"], tuple(parts),
                         {"axis": 1, "offsets": got._saved["offsets"]})
    assert_same_node_saved(got, want)
    assert got._saved["offsets"] == tuple(range(0, 3 * n_parents + 1, 3))
    assert got.scope == "Join"
    a, b = parts[0], leaf(np.ones((3, 2)))
    same_bits((a @ b).data, a._data @ b._data)  # two parents
    same_bits(a.reshape(3, 2).data, a._data.reshape(3, 2))  # one
    assert (a @ b).parents == (a, b) and a.reshape(3, 2).parents == (a,)
