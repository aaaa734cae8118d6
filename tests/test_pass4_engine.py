"""Fourth pass on the backward engine: backward()'s usual pass (no observer, no create_graph) runs its own
loop (autograd._first_order); these tests hold it to the general path (the same pass with an observer,
which takes _propagate) bit for bit, to central finite differences, and to the same refusals."""
import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor
from tinygrad_loss.autograd import GraphReleasedError, topological_order, visit_order
from tinygrad_loss.ops import _unbroadcast_np


def _graphs(dtype):
    rng = np.random.default_rng(4)
    x = Tensor(rng.uniform(0.5, 1.5, (3, 4)).astype(dtype), requires_grad=True)
    w = Tensor(rng.uniform(0.5, 1.5, (4,)).astype(dtype), requires_grad=True)
    return x, w


def _build(kind, x, w):
    if kind == "chain":
        y = (x * w + x).tanh() * 0.5 - w
        return (y.sigmoid() + 1.0).log().exp().sum()
    if kind == "diamond":  # a node used three times, leaves reached many times
        h = x * w
        return (h * h + h.exp() - h / w).sum()
    if kind == "bias":  # (n, k) + (k,): the bias case of _unbroadcast_np
        return ((x + w).relu() * (x - w)).mean()
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["chain", "diamond", "bias"])
@pytest.mark.parametrize("intermediate", [True, False])
def test_usual_pass_gives_the_general_paths_gradients_bit_for_bit(kind, intermediate):
    grads = []
    for observer in (None, lambda *e: None):  # an observer takes the general path (_propagate)
        x, w = _graphs(np.float32)
        loss = _build(kind, x, w)
        nodes = topological_order(loss)
        loss.backward(observer=observer, intermediate_grads=intermediate)
        grads.append([x.grad.data, w.grad.data] + [n.grad.data if n.grad is not None else None for n in nodes])
    for a, b in zip(*grads):
        if a is None or b is None:
            assert a is None and b is None
        else:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("kind", ["chain", "diamond", "bias"])
def test_usual_pass_matches_central_differences(kind):
    x, w = _graphs(np.float64)
    loss = _build(kind, x, w)
    loss.backward()
    for t in (x, w):
        num = np.zeros_like(t.data)
        for i in np.ndindex(t.shape):
            old = t.data[i]
            t.data[i] = old + 1e-6
            up = _build(kind, Tensor(x.data), Tensor(w.data)).item()
            t.data[i] = old - 1e-6
            down = _build(kind, Tensor(x.data), Tensor(w.data)).item()
            t.data[i] = old
            num[i] = (up - down) / 2e-6
        np.testing.assert_allclose(t.grad.data, num, rtol=1e-6, atol=1e-8)


def test_leaves_sharing_one_array_get_arrays_of_their_own():
    a = Tensor(np.ones(3, np.float32), requires_grad=True)
    b = Tensor(np.ones(3, np.float32), requires_grad=True)
    s = a + b  # add hands the same array to both leaves and keeps it as s.grad
    s.backward(gradient=np.array([1.0, 2.0, 3.0], np.float32))
    assert a.grad.data is not b.grad.data and a.grad.data is not s.grad.data
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0 and s.grad.data[0] == 1.0
    assert a.grad.data.flags.writeable and b.grad.data.flags.writeable


def test_a_released_graph_is_refused_before_any_grad_changes():
    x, w = _graphs(np.float32)
    loss = _build("diamond", x, w)
    loss.backward()
    before = x.grad.data.copy()
    with pytest.raises(GraphReleasedError, match="already released"):
        loss.backward()
    assert np.array_equal(x.grad.data, before)


def test_an_input_changed_in_place_is_refused_before_any_grad_changes():
    x, w = _graphs(np.float32)
    h = x * w
    loss = (h.exp() * 2.0).sum()
    with tg.no_grad():
        h += 1.0  # exp saw h at version 0
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    assert x.grad is None and w.grad is None and loss.grad is None


def test_visit_order_and_observer_events_unchanged_by_the_walk():
    x, w = _graphs(np.float32)
    h = x * w
    loss = (h * h + h.exp()).sum()
    order = visit_order(loss)
    events = []
    loss.backward(observer=lambda e, t, p: events.append((e, id(t))), retain_graph=True)
    visits = [i for e, i in events if e == "visit"]
    assert visits == [id(t) for t in order]
    assert order[0] is loss and set(map(id, order[-2:])) == {id(x), id(w)}


@pytest.mark.parametrize("gs, shape", [((5, 4), (4,)), ((2, 5, 4), (4,)), ((2, 5, 4), (5, 4)), ((5, 4), (1, 4)),
                                       ((5, 4), ()), ((5, 1), (1,)), ((3, 5, 4), (5, 1))])
def test_unbroadcast_np_equals_the_plain_sum(gs, shape):
    g = np.random.default_rng(1).standard_normal(gs).astype(np.float32)
    got = _unbroadcast_np(g, shape)
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gs[i + lead] != 1)
    want = np.add.reduce(g, axis=axes, keepdims=True).reshape(shape)
    assert got.shape == shape and np.asarray(got).tobytes() == want.tobytes()
