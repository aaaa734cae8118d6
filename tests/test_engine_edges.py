"""Engine entry points at their edges (trace_backward, grad, backward): tests written for the
mutants mutmut left alive in tinygrad_loss/autograd.py (issue 19). Expected gradients are NumPy
formulas; each test names the kind of mutant it kills."""
import numpy as np
import pytest

import tinygrad_loss as tl


def _leaf_visits(events, leaf):
    return [payload for event, t, payload in events if event == "visit" and t is leaf]


def test_trace_backward_uses_the_given_seeds_and_keeps_the_graph():
    """Mutants: grad_outputs ignored (every seed the default ones, an error for a vector output), the
    graph released (retain_graph False) or recorded (create_graph True), or .grad written."""
    x = tl.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * x                                     # dy/dx = 2x
    g = np.array([0.5, -1.0, 2.0])
    for seeds in (tl.Tensor(g), [g], (tl.Tensor(g),)):
        events = tl.trace_backward(y, grad_outputs=seeds)
        (vx,) = _leaf_visits(events, x)
        np.testing.assert_allclose(vx.data, 2 * np.array([1.0, 2.0, 3.0]) * g)
        assert all(not p.requires_grad for e, _, p in events if e == "visit")
    assert x.grad is None and y.grad is None      # nothing stored
    y.backward(gradient=g)                        # the graph is still there
    np.testing.assert_allclose(x.grad.data, 2 * np.array([1.0, 2.0, 3.0]) * g)


def test_trace_backward_two_outputs_and_a_count_mismatch():
    a = tl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    u, v = a * 3.0, a * a
    events = tl.trace_backward([u, v], grad_outputs=[np.array([1.0, 1.0]), np.array([2.0, 0.5])])
    (va,) = _leaf_visits(events, a)
    np.testing.assert_allclose(va.data, 3.0 * np.ones(2) + 2 * a.data * np.array([2.0, 0.5]))
    with pytest.raises(ValueError, match="trace_backward: got 2 outputs but 1 grad_outputs"):
        tl.trace_backward([u, v], grad_outputs=[np.ones(2)])
    with pytest.raises(RuntimeError, match="non-scalar"):
        tl.trace_backward(u)


def _backward_error(loss):
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    return str(info.value)


@pytest.mark.parametrize("name", ["w", None])
def test_stale_input_error_names_op_tensor_versions_and_the_fix(name):
    """Mutants: any change to the in-place error's wording, its name/shape parts or its version numbers."""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = tl.Tensor(np.array([3.0, 4.0]), name=name)
    y = x * w
    with tl.no_grad():
        w += 1
    tensor = "the tensor 'w' of shape (2,)" if name else "the tensor of shape (2,)"
    assert _backward_error(y.sum()) == (
        f"backward: an input of 'mul' (scope -), {tensor}, was modified in place after the op used it "
        "(version 1, the op saw version 0), so the gradient would be wrong. Compute the result again after the "
        "change, or change a new tensor (`t = t - x` instead of `t -= x`)")


@pytest.mark.parametrize("name", ["y", None])
def test_stale_output_error_names_op_tensor_versions_and_the_fix(name):
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with tl.name_scope("block"):
        y = tl.exp(x)
    y.name = name
    z = y.sum()
    with tl.no_grad():
        y += 1
        y += 1
    named = " 'y'" if name else ""
    assert _backward_error(z) == (
        f"backward: the output of 'exp' (scope block){named}, of shape (2,), was modified in place after it was "
        "computed (version 2, the op saw version 0), so the gradient would be wrong. Compute the result again "
        "after the change, or change a new tensor (`t = t - x` instead of `t -= x`)")


def test_grad_results_never_share_an_array():
    # add hands the same upstream array to both parents: the two results must still be separate,
    # or an in-place edit of one (clipping, zero_()) would silently change the other.
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    b = tl.Tensor([3.0, 4.0], requires_grad=True)
    ga, gb = tl.grad((a + b).sum(), [a, b])
    assert ga is not gb and not np.shares_memory(ga.data, gb.data)
    ga.data *= 10
    np.testing.assert_array_equal(gb.data, [1.0, 1.0])
