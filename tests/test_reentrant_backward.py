"""A backward pass started from another pass's observer.

Gradients are summed on the tensors themselves while a pass runs, so a second pass over a tensor the
first one is walking would mix the two sums (before this guard it silently left `.grad` unset inside the
observer and put the inner seed into the outer result). Such a call is refused before anything changes;
a pass over a graph that shares nothing with the running one works as usual.
"""
import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor, autograd

MESSAGE = "shares tensors with a backward pass that has not returned"


def _graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    return x, y, y * 3.0


def _no_pending(*roots):
    return all(t._pending is None for t in autograd.topological_order(list(roots)))


@pytest.mark.parametrize("inner", ["backward", "grad"])
@pytest.mark.parametrize("when", ["root", "middle"])
def test_a_pass_over_tensors_the_running_pass_walks_is_refused_before_anything_changes(inner, when):
    x, y, z = _graph()
    errors = []

    def state():
        return [None if t.grad is None else t.grad.data.copy() for t in (x, y, z)] + \
            [t._pending if t._pending is None else repr(t._pending) for t in (x, y, z)]

    def observer(event, t, payload):
        if event == "visit" and t is (z if when == "root" else y) and not errors:
            before = state()
            with pytest.raises(RuntimeError, match=MESSAGE) as e:
                if inner == "backward":
                    y.backward(retain_graph=True)
                else:
                    tg.grad(y, [x], retain_graph=True)
            errors.append(str(e.value))
            after = state()
            assert len(before) == len(after) and all(
                (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))
                if not isinstance(a, str) else a == b for a, b in zip(before, after))

    z.backward(observer=observer)  # the observer caught the refusal: the running pass goes on unharmed
    assert len(errors) == 1 and errors[0].startswith("backward: ")
    np.testing.assert_array_equal(x.grad.data, 6.0 * np.array([1.0, 2.0]))  # d(3 Σx²)/dx, the outer seed only
    assert y.grad.item() == 3.0 and z.grad.item() == 1.0
    assert _no_pending(z) and autograd._RUNNING[0] == 0


def test_a_new_graph_on_a_leaf_the_running_pass_walks_is_refused():
    x, y, z = _graph()

    def observer(event, t, payload):
        if event == "visit" and t is z:
            with tg.enable_grad():
                (x * 2.0).sum().backward()

    with pytest.raises(RuntimeError, match=MESSAGE):
        z.backward(observer=observer)
    assert x.grad is None and _no_pending(z) and autograd._RUNNING[0] == 0


def test_a_pass_over_a_separate_graph_from_an_observer_works():
    x, y, z = _graph()
    a = Tensor(np.array([0.5, -1.5, 4.0]), requires_grad=True)
    b = (a * a * a).sum()  # d/da = 3a²
    seen = []

    def observer(event, t, payload):
        if event == "visit" and t is y and not seen:
            b.backward()
            seen.append(a.grad.data.copy())

    z.backward(observer=observer)
    np.testing.assert_allclose(seen[0], 3.0 * np.array([0.5, -1.5, 4.0]) ** 2, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(x.grad.data, 6.0 * np.array([1.0, 2.0]))
    assert _no_pending(z, b) and autograd._RUNNING[0] == 0


def test_the_count_of_running_passes_comes_back_after_an_error_in_a_pass():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError):
        y.backward(gradient=np.ones(3))  # a seed of the wrong shape is refused
    assert autograd._RUNNING[0] == 0
    y.backward()  # not taken for a nested call
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
