"""The first-order engine's fast paths (docs/performance.md, *Backward engine*): each one against
the plain computation it replaces. Expected values are NumPy formulas or central finite
differences in float64 (``gradcheck``)."""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import ops
from tinygrad_loss._opkit import OPS
from tinygrad_loss.autograd import ShapedRules


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_the_default_seed_is_a_one_of_the_outputs_shape_and_dtype(shape, dtype):
    """``np.array(1, dtype)`` for a 0-d output, ``np.ones`` for other one-element shapes."""
    x = tl.Tensor(np.full(shape, 2.0, dtype=dtype), requires_grad=True)
    y = x * x                                     # dy/dx = 2x = 4
    y.backward()
    assert y.grad.shape == shape and y.grad.dtype == dtype and y.grad.data.flags.writeable
    np.testing.assert_array_equal(y.grad.data, np.ones(shape))
    assert x.grad.shape == shape and x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad.data, np.full(shape, 4.0))
    assert not np.shares_memory(x.grad.data, y.grad.data)
    leaf = tl.Tensor(np.full(shape, 5.0, dtype=dtype), requires_grad=True)
    leaf.backward()                               # a leaf is its own root: its .grad is the seed
    assert leaf.grad.dtype == dtype and leaf.grad.data.flags.writeable
    np.testing.assert_array_equal(leaf.grad.data, np.ones(shape))


def test_a_leafs_grad_is_stored_bare_and_wrapped_once_then_accumulated_out_of_place():
    x = tl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    assert type(x._grad) is np.ndarray            # no Tensor made until .grad is read
    first = x.grad
    assert first is x.grad and type(first) is tl.Tensor and not first.requires_grad
    np.testing.assert_array_equal(first.data, [3.0, 3.0])
    (x * x).sum().backward()                      # adds 2x
    np.testing.assert_array_equal(x.grad.data, [5.0, -1.0])
    np.testing.assert_array_equal(first.data, [3.0, 3.0])   # the Tensor the caller held is untouched
    x.grad = tl.Tensor(np.array([10.0, 10.0]))    # a .grad set by hand is added to as well
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [13.0, 13.0])


@pytest.mark.parametrize("make, dw", [
    (lambda x, w: x + w, [1.0, 1.0]),             # add hands one array to both inputs
    (lambda x, w: (x - w) * 1.0, [-1.0, -1.0]),   # sub's first input: the array passes through
    (lambda x, w: (x + w).reshape(2, 1).reshape(2), [1.0, 1.0]),  # reshape's rule returns a view
])
def test_gradients_that_share_an_array_are_stored_as_arrays_of_their_own(make, dw):
    """Some rules pass ``g`` on unchanged, and the intermediate that received it keeps it as its own
    ``.grad``: a leaf's ``.grad`` (what an optimizer or a clipping edits in place) shares memory with
    no other ``.grad``. (Intermediates' may share with each other, as they always did.)"""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = tl.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    out = make(x, w).sum()
    tensors = tl.visit_order(out)
    assert tensors[-2:] == [x, w]
    out.backward()
    for leaf in (x, w):
        assert leaf.grad.data.flags.writeable
        for t in tensors:
            assert t is leaf or not np.shares_memory(leaf.grad.data, t.grad.data)
    before = [t.grad.data.copy() for t in tensors]
    x.grad.data[...] = 10.0
    w.grad.data[...] = 20.0
    np.testing.assert_array_equal(before[-2], [1.0, 1.0])
    np.testing.assert_array_equal(before[-1], dw)
    for t, b in zip(tensors[:-2], before):
        np.testing.assert_array_equal(t.grad.data, b)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (5,)])
def test_tanh_and_sigmoid_rules_equal_the_formula_with_the_number_one(dtype, shape):
    """The rules subtract from a cached 0-d one of the dtype instead of the number 1: the same
    arithmetic, bit for bit, in every float dtype (0-d arrays give NumPy scalars)."""
    rng = np.random.default_rng(0)
    g = rng.uniform(-2, 2, shape).astype(dtype)
    y = rng.uniform(-0.99, 0.99, shape).astype(dtype)
    got_t, got_s = ops._tanh_grad_np(g, y), ops._sigmoid_grad_np(g, y)
    assert got_t.dtype == dtype and got_s.dtype == dtype
    np.testing.assert_array_equal(got_t, g * (1 - y * y))
    np.testing.assert_array_equal(got_s, g * (y * (1 - y)))
    one = ops._UNITS[np.dtype(dtype)][1]
    assert not one.flags.writeable and one.dtype == dtype and one == 1


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("shape", [(2, 3), (4,), ()])
@pytest.mark.parametrize("keepdims", [False, True])
def test_a_full_reductions_gradient_is_spread_into_a_new_writable_array(reduce, shape, keepdims):
    x = tl.Tensor(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape).astype(np.float32), requires_grad=True)
    y = getattr(x, reduce)(keepdims=keepdims)
    (y * 2.0).sum().backward()
    n = max(1, int(np.prod(shape)))
    want = np.full(shape, 2.0 / (n if reduce == "mean" else 1), dtype=np.float32)
    assert x.grad.dtype == np.float32 and x.grad.shape == shape and x.grad.data.flags.writeable
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-7)
    assert tl.gradcheck(lambda a: (getattr(a, reduce)(keepdims=keepdims) * 2.0).sum(),
                        np.linspace(-1, 1, n).reshape(shape))


def test_rules_put_in_the_place_of_shaped_rules_are_checked_again(monkeypatch):
    """Rules marked :class:`ShapedRules` skip the per-edge shape check; the mark belongs to the
    rules, so a plain tuple in their place (a rule being rewritten) is checked."""
    marked = {name for name, op in OPS.items() if isinstance(op.raw, ShapedRules)}
    assert {"add", "mul", "sum", "mean", "tanh_grad"} <= marked and "matmul" not in marked
    x = tl.Tensor(np.ones((3, 4)), requires_grad=True)
    b = tl.Tensor(np.ones(4), requires_grad=True)
    (x * b).sum().backward()                      # marked: unbroadcast gives b its shape
    assert b.grad.shape == (4,)
    monkeypatch.setattr(OPS["mul"], "raw", (lambda g, o, a, c: g * c._data, lambda g, o, a, c: g * a._data))
    with pytest.raises(RuntimeError, match=r"VJP of 'mul' returned a gradient of shape \(3, 4\) for its input 1"):
        (x * b).sum().backward()
    assert x._pending is None and b._pending is None


def test_an_error_in_the_pass_leaves_nothing_pending_on_leaves_and_the_next_pass_is_right():
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = tl.Tensor(np.array([3.0, 4.0]), requires_grad=True)

    def observer(event, t, payload):
        if event == "visit" and t is x:           # the first leaf: w's gradient is still pending
            raise KeyError("stop")

    assert tl.visit_order((x * w).sum())[-2:] == [x, w]
    with pytest.raises(KeyError):
        (x * w).sum().backward(observer=observer, retain_graph=True)
    assert x._pending is None and w._pending is None and x.grad is None and w.grad is None
    y = (x * w).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    np.testing.assert_array_equal(w.grad.data, [1.0, 2.0])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.dtype(">f4")])
def test_relu_raw_rule_is_the_mask_formula(dtype):
    # The raw rule compares with a cached 0-d zero of the dtype; the result is g * (x > 0) exactly.
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, (3, 5)).astype(dtype)
    x[0, 0] = 0.0  # the kink: no gradient
    g = rng.uniform(-2, 2, (3, 5)).astype(dtype)
    want = g * (x > 0)
    got_rule = ops._relu_grad_np(g, x)
    t = tl.Tensor(x, requires_grad=True)
    out = ops.relu(t)
    got_raw = out._op.raw[0](g, out, t)
    for got in (got_rule, got_raw):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_units_of_a_non_native_dtype_are_made_but_not_kept():
    be = np.dtype(">f4")
    units = ops._UNITS[be]
    assert [u.item() for u in units] == [0, 1, -1] and all(u.dtype == be and not u.flags.writeable for u in units)
    assert be not in ops._UNITS and ops._units(be) is None
    assert ops._units(np.dtype(np.float32)) is ops._UNITS[np.dtype(np.float32)]
