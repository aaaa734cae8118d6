"""In-place updates with PyTorch's rules, the version counter, and ``.data`` assignment (issue 12)."""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import ops
from test_ops_gradcheck import CASES

IN_PLACE = {
    "+=": lambda t, x: t.__iadd__(x), "-=": lambda t, x: t.__isub__(x),
    "*=": lambda t, x: t.__imul__(x), "/=": lambda t, x: t.__itruediv__(x),
    "zero_": lambda t, x: t.zero_(), "fill_": lambda t, x: t.fill_(2.0), "copy_": lambda t, x: t.copy_(x),
}


# --- plain in-place updates --------------------------------------------------------------------

@pytest.mark.parametrize("symbol,operand,expected", [
    ("+=", np.array([2.0, 2.5]), [3.0, 4.5]), ("-=", tl.Tensor(np.array([2.0, 2.5])), [-1.0, -0.5]),
    ("*=", 1.75, [1.75, 3.5]), ("/=", tl.Tensor(np.array([2.0, 0.5])), [0.5, 4.0])])
def test_in_place_arithmetic_changes_the_same_object(symbol, operand, expected):
    t = tl.Tensor(np.array([1.0, 2.0]))
    ref, data = t, t.data
    if symbol == "+=":
        t += operand
    elif symbol == "-=":
        t -= operand
    elif symbol == "*=":
        t *= operand
    else:
        t /= operand
    assert t is ref and t.data is data and t.is_leaf and not t.requires_grad
    np.testing.assert_allclose(t.data, expected, rtol=1e-15)
    assert t._version == 1


def test_in_place_keeps_dtype_and_broadcasts_the_operand_only():
    t = tl.Tensor(np.zeros((2, 3), dtype=np.float32))
    t += np.arange(3.0)                                   # (3,) broadcasts to (2, 3); float64 cast to float32
    assert t.dtype == np.float32 and t.shape == (2, 3)
    np.testing.assert_array_equal(t.data, [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match=r"Tensor \+=: an operand of this shape would change the tensor's shape"):
        tl.Tensor(np.zeros(3)).__iadd__(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"Tensor -=: operand of type str is not numeric"):
        tl.Tensor(np.zeros(3)).__isub__("a")


def test_in_place_on_a_view_never_writes_into_another_tensor():
    x = tl.Tensor(np.arange(6.0))
    y = x.reshape(2, 3)                                   # y's data is a view of x's
    y += 1.0
    np.testing.assert_array_equal(x.data, np.arange(6.0))
    np.testing.assert_array_equal(y.data, np.arange(6.0).reshape(2, 3) + 1)


def test_zero_fill_copy():
    g = tl.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    data = g.data
    assert g.zero_() is g and g.data is data and not g.data.any()
    g.fill_(tl.Tensor(1.5))
    np.testing.assert_array_equal(g.data, np.full((2, 2), 1.5))
    g.copy_(np.array([7.0, 8.0]))                          # broadcast along the rows
    np.testing.assert_array_equal(g.data, [[7.0, 8.0], [7.0, 8.0]])
    assert g._version == 3
    with pytest.raises(ValueError, match=r"copy_: src of shape \(3,\) cannot be broadcast to the tensor's shape"):
        g.copy_(np.ones(3))
    with pytest.raises(ValueError, match="fill_: value must be a number or a one-element tensor"):
        g.fill_(np.ones(2))


def test_grad_zero_after_backward():
    w = tl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (w * w).sum().backward()
    w.grad.zero_()
    (w * 3.0).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [3.0, 3.0])


# --- leaves that require a gradient ------------------------------------------------------------

@pytest.mark.parametrize("how", list(IN_PLACE))
def test_in_place_on_a_parameter_outside_no_grad_is_refused(how):
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    with pytest.raises(RuntimeError, match=r"the leaf tensor 'w' requires grad and is being changed in place "
                                           r"outside no_grad\(\).*with tinygrad_loss.no_grad\(\)"):
        IN_PLACE[how](w, np.array([0.5, 0.5]))
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w._version == 0 and w.is_leaf and w.requires_grad


def test_plain_minus_equals_in_a_loop_explains_itself_instead_of_retain_graph():
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    (w * w).sum().backward()
    with pytest.raises(RuntimeError) as e:
        w -= 0.1 * w.grad
    assert "no_grad()" in str(e.value) and "retain_graph" not in str(e.value)


@pytest.mark.parametrize("how", list(IN_PLACE))
def test_in_place_on_a_parameter_under_no_grad_keeps_it_a_parameter(how):
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    data = w.data
    with tl.no_grad():
        out = IN_PLACE[how](w, np.array([0.5, 0.5]))
    assert out is w and w.data is data and w.is_leaf and w.requires_grad and w._version == 1
    (w * w).sum().backward()                              # still trains
    np.testing.assert_allclose(w.grad.data, 2 * w.data)


def test_variable_updates_in_place_stay_variables():
    v = tl.Variable(np.array([1.0, 2.0]))
    with tl.no_grad():
        v -= np.array([0.5, 0.5])
    assert isinstance(v, tl.Variable) and v.trainable
    np.testing.assert_array_equal(v.numpy(), [0.5, 1.5])


# --- recorded in-place updates of computed tensors -------------------------------------------

def _with_in_place(x, y):
    h = x * 2.0
    h += y
    h *= x
    h -= 1.0
    h /= y
    return h


def test_recorded_in_place_updates_have_the_right_gradient():
    x = tl.Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    y = tl.Tensor(np.array([1.5, 0.7, -0.9]), requires_grad=True)
    h = _with_in_place(x, y)
    assert h.op == "div" and h.requires_grad
    np.testing.assert_allclose(h.data, ((x.data * 2 + y.data) * x.data - 1) / y.data, rtol=1e-15)
    res = tl.gradcheck(_with_in_place, x, y)
    assert res, str(res)


def test_constant_updated_by_a_parameter_joins_the_graph():
    w = tl.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    acc = tl.Tensor(np.zeros(2))
    acc += w * w
    assert acc.requires_grad and acc.op == "add"
    acc.sum().backward()
    np.testing.assert_allclose(w.grad.data, [4.0, 6.0])


def test_recorded_fill_and_copy():
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3.0
    h.fill_(5.0)                                          # the old value no longer matters: zero gradient
    s = x * 1.0
    s.copy_(x * x)                                        # gradient flows to the source
    (h + s).sum().backward()
    np.testing.assert_array_equal(h.data, [5.0, 5.0])
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


# --- the version counter ----------------------------------------------------------------------

def _graph_for(op):
    """A recorded computation of the first case of ``op``, its float64 inputs and the node of ``op``."""
    case = CASES[op][0]
    inputs = [tl.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in case.inputs]
    out = case.fn(*inputs)
    node = next(n for n in [out] + list(tl.topological_order(out)) if n.op == op)
    return inputs, out, node


def _loss(out):
    return (out * tl.Tensor(np.linspace(0.5, 1.5, out.size).reshape(out.shape))).sum()


@pytest.mark.parametrize("op", sorted(ops.OPS))
def test_backward_refuses_an_input_changed_in_place_for_every_op(op):
    inputs, out, _ = _graph_for(op)
    _loss(out).backward()                                  # unchanged: fine
    inputs, out, _ = _graph_for(op)
    loss = _loss(out)
    with tl.no_grad():
        inputs[0] += 0.0                                   # even an update that keeps the values counts
    with pytest.raises(RuntimeError, match=rf"backward: an input of '{op}'.*modified in place after the op used it "
                                           r"\(version 1, the op saw version 0\)"):
        loss.backward()
    assert all(t.grad is None for t in inputs)             # refused before any gradient was written


@pytest.mark.parametrize("op", sorted(ops.OPS))
def test_backward_refuses_an_output_changed_in_place_for_every_op(op):
    _, out, node = _graph_for(op)
    loss = _loss(out)
    with tl.no_grad():
        node *= 1.0
    with pytest.raises(RuntimeError, match=rf"backward: the output of '{op}'.*was modified in place after it was "
                                           "computed"):
        loss.backward()


def test_consumer_of_a_tensor_updated_by_a_recorded_in_place_op_is_refused():
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 2.0
    z = h * h                                              # used h before the update
    h += 1.0
    with pytest.raises(RuntimeError, match=r"an input of 'mul'.*modified in place"):
        z.sum().backward()
    h.sum().backward()                                     # the updated h itself is fine
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_changes_before_the_op_ran_are_fine():
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    with tl.no_grad():
        w *= 3.0
    y = (w * w).sum()
    y.backward()
    np.testing.assert_allclose(w.grad.data, [6.0, 12.0])


def test_optimizer_step_and_assign_count_as_changes():
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    opt = tl.SGD([w], learning_rate=0.1)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"an input of 'mul' \(scope -\), the tensor 'w' of shape \(2,\), was "
                                           r"modified in place"):
        loss.backward()
    v = tl.Variable(np.array([1.0]))
    y = v.exp()
    v.assign([2.0])
    with pytest.raises(RuntimeError, match="an input of 'exp'"):
        y.backward()


# --- .data ---------------------------------------------------------------------------------------

def test_data_assignment_takes_arrays_and_tensors_of_the_same_shape():
    w = tl.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (w * w).sum().backward()
    w.data = w.data - 0.25 * w.grad                        # ndarray - Tensor: a Tensor, stored as its array
    assert type(w.data) is np.ndarray and w.dtype == np.float32 and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.data, [0.5, 1.0])
    w.data = np.array([3.0, 4.0])                           # float64 array: cast to the tensor's dtype
    assert w.dtype == np.float32 and w.tolist() == [3.0, 4.0]
    assert w._version == 2


def test_data_assignment_refuses_another_shape_or_non_numbers():
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"Tensor.data: the new value has shape \(3,\) but the tensor has shape \(2,\)"):
        w.data = np.ones(3)
    with pytest.raises(ValueError, match=r"Tensor.data: the new value has shape \(1, 2\)"):
        w.data = tl.Tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match="Tensor.data: expected an array of numbers"):
        w.data = ["a", "b"]
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w._version == 0


# --- detach() shares the version counter (PyTorch: same storage, same version) -------------------

@pytest.mark.parametrize("change", sorted(IN_PLACE))
def test_in_place_change_of_a_detached_tensor_is_seen_by_backward(change):
    """``d = x.detach(); d += 1`` after ``y = x * x``: y's gradient would read the new x, so refused."""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    d = x.detach()
    IN_PLACE[change](d, np.array([3.0, 4.0]))
    assert not np.array_equal(x.data, [1.0, 2.0])  # the change went through to x's data
    with pytest.raises(RuntimeError, match="an input of 'mul'.*modified in place"):
        y.sum().backward()
    assert x.grad is None


def test_in_place_change_of_the_source_is_seen_through_the_detached_tensor():
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = tl.Tensor(np.array([0.5, 0.5]), requires_grad=True)
    d = x.detach()
    y = (d * w).sum()  # mul saved d's values
    with tl.no_grad():
        x -= 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_detach_of_a_detached_tensor_is_in_the_same_group_and_unchanged_tensors_still_work():
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    e = x.detach().detach()
    e.zero_()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    x2 = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y2 = (x2 * x2).sum()
    x2.detach()  # detached, never changed: backward is untouched
    y2.backward()
    assert x2.grad.tolist() == [2.0, 4.0]


def test_a_detached_view_that_is_copied_on_write_does_not_bump_its_source():
    """A detached tensor whose data is a view gets its own array when changed (never writes through),
    so the source is unchanged and its graph still differentiates."""
    x = tl.Tensor(np.arange(4.0), requires_grad=True)
    v = x.reshape(2, 2)  # a view of x's data
    y = (v * v).sum()
    d = v.detach()
    d += 1.0
    assert x.data.tolist() == [0.0, 1.0, 2.0, 3.0]
    y.backward()
    assert x.grad.tolist() == [0.0, 2.0, 4.0, 6.0]


def test_optimizer_step_and_variable_assign_reach_tensors_detached_from_the_parameter():
    """An optimizer step and ``Variable.assign_add`` change the parameter's array in place, which a
    tensor detached from it shares: ops that used the detached tensor are refused too."""
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = tl.SGD([w], learning_rate=0.1)
    x = tl.Tensor(np.array([1.0, 1.0]), requires_grad=True)
    y = (w.detach() * x).sum()
    (w * w).sum().backward()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    v = tl.Variable([1.0, 2.0])
    y = (v.detach() * x).sum()
    v.assign_add([1.0, 1.0])
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
