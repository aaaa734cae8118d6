"""The forward's fast paths (tinygrad_loss/_opkit.py ``unary``/``binary``, ``ops._sigmoid_np``/``_relu_np``)
give what the general code gives: the same node as ``make_node`` in every situation, the same errors,
the same constants and the same bits."""
import math

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import _opkit, ops
from tinygrad_loss._opkit import make_node
from tinygrad_loss.tensor import is_lifted_constant

SLOTS = ("_op", "_saved", "requires_grad", "_version", "_grad", "_pending")


def assert_same_node(got, want):
    assert type(got) is type(want) is tl.Tensor
    assert got._data.dtype == want._data.dtype and got._data.shape == want._data.shape
    assert type(got._data) is np.ndarray and type(want._data) is np.ndarray
    np.testing.assert_array_equal(got._data, want._data)
    for slot in SLOTS:
        assert getattr(got, slot) is getattr(want, slot) or getattr(got, slot) == getattr(want, slot), slot
    assert len(got._parents) == len(want._parents)
    assert all(p is q for p, q in zip(got._parents, want._parents))
    assert type(got._tag) is type(want._tag)
    assert (got.scope, got.name, got._saved_versions) == (want.scope, want.name, want._saved_versions)


def leaf(values, requires_grad=True, dtype=np.float32):
    return tl.Tensor(np.asarray(values, dtype=dtype), requires_grad=requires_grad)


UNARY = [("tanh", np.tanh), ("neg", np.negative), ("exp", np.exp), ("sigmoid", ops._sigmoid_np)]
BINARY = [("mul", np.multiply), ("add", np.add), ("sub", np.subtract), ("div", np.true_divide)]


def _situations():
    """(label, make the operands, context to run the op in)."""
    import contextlib

    def changed():  # an operand changed in place before the op: the op records the versions it saw
        t = leaf([0.5, -2.0])
        t.data += 1.0
        return t

    none = contextlib.nullcontext
    return [
        ("both require grad", lambda: (leaf([0.5, -1.0]), leaf([2.0, 3.0])), none),
        ("only the second", lambda: (leaf([0.5, -1.0], False), leaf([2.0, 3.0])), none),
        ("neither", lambda: (leaf([0.5, -1.0], False), leaf([2.0, 3.0], False)), none),
        ("no_grad", lambda: (leaf([0.5, -1.0]), leaf([2.0, 3.0])), tl.no_grad),
        ("name scope", lambda: (leaf([0.5, -1.0]), leaf([2.0, 3.0])), lambda: tl.name_scope("Block")),
        ("first changed in place", lambda: (changed(), leaf([2.0, 3.0])), none),
        ("second changed in place", lambda: (leaf([2.0, 3.0]), changed()), none),
        ("0-d operands", lambda: (leaf(0.5), leaf(2.0)), none),
        ("float64", lambda: (leaf([0.5], dtype=np.float64), leaf([2.0], dtype=np.float64)), none),
    ]


@pytest.mark.parametrize("label, operands, context", _situations(), ids=[s[0] for s in _situations()])
@pytest.mark.parametrize("name, ref", UNARY, ids=[u[0] for u in UNARY])
def test_unary_node_is_what_make_node_makes(label, operands, context, name, ref):
    for a in operands():
        with context():
            got = getattr(ops, name)(a)
            want = make_node(ref(a._data), ops.OPS[name], (a,))
        assert_same_node(got, want)


@pytest.mark.parametrize("label, operands, context", _situations(), ids=[s[0] for s in _situations()])
@pytest.mark.parametrize("name, ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_node_is_what_make_node_makes(label, operands, context, name, ref):
    a, b = operands()
    with context():
        got = getattr(ops, name)(a, b)
        want = make_node(ref(a._data, b._data), ops.OPS[name], (a, b))
        got_c = getattr(ops, name)(a, 0.25)
        c = _opkit.lift(0.25, a)
        want_c = make_node(ref(a._data, c._data), ops.OPS[name], (a, c))
        got_l = getattr(ops, name)(0.25, b)
        want_l = make_node(ref(c._data, b._data), ops.OPS[name], (_opkit.lift(0.25, b), b))
    assert_same_node(got, want)
    assert_same_node(got_c, want_c)
    assert_same_node(got_l, want_l)
    assert is_lifted_constant(c)
    if got_c._parents:  # recorded: the constant is the parent, one for 0.25 on either side
        assert got_c._parents[1] is c and (a.dtype != b.dtype or got_l._parents[0] is c)


def test_anomaly_check_runs_on_the_fast_paths():
    x = leaf([1.0, -1.0])
    with tl.detect_anomaly(), np.errstate(all="ignore"):
        with pytest.raises(tl.AnomalyError, match="'log'"):
            ops.log(x)
        with pytest.raises(tl.AnomalyError, match="'div'"):
            x / 0.0
        with pytest.raises(tl.AnomalyError, match="'mul'"):
            x * math.inf
    with np.errstate(invalid="ignore"):
        assert np.isnan(ops.log(x).data[1])  # off again: no check


def test_a_version_change_between_ops_is_caught_by_backward():
    x = leaf([1.0, 2.0])
    z = x * x            # saw x at version 0
    x.data += 1.0        # changed after z used it
    with pytest.raises(RuntimeError, match="in place"):
        z.sum().backward()
    w = ops.tanh(x) * x  # both ops see x at version 1: recorded, and backward runs
    assert w._saved_versions[1] == (x, 1) and w._parents[0]._saved_versions == ((x, 1),)
    w.sum().backward()
    v = np.array([2.0, 3.0], np.float32)
    np.testing.assert_allclose(x.grad.data, (1 - np.tanh(v) ** 2) * v + np.tanh(v), rtol=1e-6)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_broadcast_error_names_the_op_alone(name):
    a, b = leaf(np.ones(3)), leaf(np.ones(4))
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(3,\) and \(4,\) cannot be broadcast together$") as e:
        getattr(ops, name)(a, b)
    assert e.value.__suppress_context__  # NumPy's own message is not chained below ours
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(2, 3\) and \(2,\) cannot be broadcast"):
        getattr(ops, name)(leaf(np.ones((2, 3))), leaf(np.ones(2)))


def test_float_constants_one_per_number_and_dtype_on_either_side():
    x32, x64 = leaf([1.0, 2.0]), leaf([1.0], dtype=np.float64)
    c = (x32 - 0.75)._parents[1]
    assert (0.75 - x32)._parents[0] is c and (x32 * 0.75)._parents[1] is c and (0.75 * x32)._parents[0] is c
    c64 = (0.75 - x64)._parents[0]
    assert c64 is not c and c64.dtype == np.float64 and c.dtype == np.float32
    assert (x64 + 0.75)._parents[1] is c64
    np.testing.assert_array_equal((0.75 - x32).data, np.float32(0.75) - x32.data)
    _opkit._LIFTED.clear()
    c2 = (x32 - 0.75)._parents[1]
    assert c2 is not c and (0.75 - x32)._parents[0] is c2  # made again, then shared again
    # the float and the int/bool of equal value stay distinct constants
    assert len({id((x32 * v)._parents[1]) for v in (1.0, 1, True)}) == 3


def test_an_integer_tensor_beside_a_float_takes_the_lift_path():
    i = tl.Tensor._wrap(np.array([1, 2], np.int64))
    got = i * 0.5
    c = got._parents[1]  # the number in the default float dtype, as lift() makes it
    assert c is _opkit.lift(0.5, None) and c.dtype == tl.get_default_dtype()
    want = np.array([1, 2], np.int64) * np.asarray(0.5, np.float32)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.data, want)


SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, -1e-45, 1e-310, -1e-310, 88.7, -88.7, 104.0, -104.0,
            710.0, -745.0, 3e38, -3e38, 0.5, -0.5, 20.0, -20.0]


def _old_sigmoid(x):
    """The formula of the forward before it took 0-d operands: Python numbers, then a cast."""
    return (np.exp(np.minimum(x, 0)) / (1.0 + np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_and_relu_bits_are_the_formulas(dtype):
    rng = np.random.default_rng(1)
    with np.errstate(all="ignore"):
        x = np.concatenate([np.array(SPECIALS), rng.normal(0, 10, 2000), -np.exp(rng.uniform(-50, 50, 500)),
                            np.exp(rng.uniform(-50, 50, 500))]).astype(dtype)
        for got, want in ((ops.sigmoid(tl.Tensor(x)).data, _old_sigmoid(x)),
                          (ops.relu(tl.Tensor(x)).data, np.maximum(x, 0))):
            assert got.dtype == want.dtype == x.dtype
            np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))  # NaN signs too
        for v in x[:len(SPECIALS)]:  # 0-d: NumPy returns scalars, made arrays again
            s = ops.sigmoid(tl.Tensor(np.asarray(v))).data
            assert type(s) is np.ndarray and s.dtype == x.dtype
            assert s.tobytes() == np.asarray(_old_sigmoid(np.asarray(v)), dtype=dtype).tobytes()


def test_sigmoid_and_relu_of_non_native_floats_as_numpy_gives_them():
    x = np.array([-3.0, -0.0, 0.5, 40.0], dtype=">f4")
    s, r = ops.sigmoid(tl.Tensor(x)), ops.relu(tl.Tensor(x))
    assert s.dtype == np.dtype(">f4") and r.dtype == np.maximum(x, 0).dtype
    np.testing.assert_array_equal(s.data, _old_sigmoid(x))
    np.testing.assert_array_equal(r.data, np.maximum(x, 0))
    assert ops._units(np.dtype(">f4")) is None and ops._units(np.dtype(np.int32)) is None
    zero, one, minus_one = ops._units(np.dtype(np.float32))
    assert (zero, one, minus_one) == (0.0, 1.0, -1.0) and not zero.flags.writeable


def test_a_constant_takes_the_assignments_that_keep_it_what_it_is():
    c = _opkit.lift(0.375, leaf([1.0]))
    c.requires_grad = False
    c.name = None
    c.grad = None
    assert not c.requires_grad and c.name is None and c.grad is None and c.is_leaf
    for attr, value in (("requires_grad", True), ("name", "k"), ("data", np.asarray(1.0, np.float32))):
        with pytest.raises(RuntimeError, match="shared by every op"):
            setattr(c, attr, value)
    assert not c.requires_grad and c.name is None and c.data == np.float32(0.375)


@pytest.mark.parametrize("ndim", [0, 1, 3])
def test_sum_over_all_axes_saves_every_axis(ndim):
    x = leaf(np.arange(2.0 ** ndim).reshape((2,) * ndim))
    for s in (x.sum(), ops.sum(x, keepdims=True), x.sum(axis=None)):
        assert s.saved["axes"] == tuple(range(ndim))
    assert ops.sum(x, keepdims=True).shape == (1,) * ndim
    np.testing.assert_array_equal(x.sum().data, np.add.reduce(x.data, axis=None))
