"""Fifth pass on the engine and the graph nodes: a node keeps its parents in two slots (``_in0``,
``_in1``) instead of a tuple of its own, the backward walk (autograd._sort) follows them, and the usual
backward pass stores an intermediate's gradient without casting it (``Tensor.grad`` casts when read).
These tests hold each change to what the code did before: the same parents, the same order as a plain
depth-first walk written here, the same gradients bit for bit as the general path, the same refusals."""
import gc

import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor
from tinygrad_loss.autograd import GraphReleasedError, topological_order, visit_order
from tinygrad_loss.gradcheck import gradcheck
from tinygrad_loss.tensor import split_parents


def _leaf(values, dtype=np.float32, requires_grad=True):
    return Tensor(np.asarray(values, dtype), requires_grad=requires_grad)


# --- the parents, kept in two slots --------------------------------------------------------------

def test_parents_read_back_as_the_tuple_the_op_was_given():
    a, b, c = _leaf([1.0, 2.0]), _leaf([3.0, 4.0]), _leaf([5.0, 6.0], requires_grad=False)
    assert a.parents == () and a._parents == () and a._in0 is None
    assert a.tanh().parents == (a,)
    assert (a * b).parents == (a, b)
    y = a * 0.5
    assert y.parents[0] is a and y.parents[1]._data.item() == 0.5
    cat = tg.concatenate([a, b, c])
    assert cat.parents == (a, b, c) and cat._in0 is None  # three or more: the tuple itself
    st = tg.stack([a, b, c, a])
    assert st.parents == (a, b, c, a)
    with tg.no_grad():
        assert (a * b).parents == ()  # nothing recorded


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_the_parents_setter_and_split_parents_round_trip(n):
    ps = tuple(_leaf([float(i)]) for i in range(n))
    t = _leaf([0.0], requires_grad=False)
    t._parents = ps
    assert t.parents == ps and all(p is q for p, q in zip(t.parents, ps))
    first, second = split_parents(list(ps))
    assert (first is None) == (n in (0, 3, 5))
    assert (second is None) == (n == 1)


def test_a_node_holds_no_tuple_and_is_the_only_object_the_collector_tracks_per_op():
    x, w = _leaf(np.ones(4)), _leaf(np.ones(4))
    y = (x * w).tanh()
    for node in (y, y.parents[0]):
        assert not any(type(r) is tuple for r in gc.get_referents(node))
    gc.collect()
    before = len(gc.get_objects())
    y = x
    for _ in range(500):
        y = (y * w).tanh()  # 1,000 nodes
    grown = len(gc.get_objects()) - before
    assert 990 <= grown < 1100  # (it was 2,000 with a parents tuple per node)


# --- the walk -----------------------------------------------------------------------------------

def _reference_order(root):
    """Op nodes in the order of a recursive depth-first walk over ``parents`` (each after its parents)."""
    done, out = set(), []

    def visit(t):
        for p in t.parents:
            if p.requires_grad and p._op is not None and id(p) not in done:
                visit(p)
        done.add(id(t))
        out.append(t)

    visit(root)
    return out


def _random_graph(seed):
    """A graph with shared nodes, nodes of one, two, three and four parents, constants and leaves."""
    rng = np.random.default_rng(seed)
    leaves = [_leaf(rng.uniform(0.5, 1.5, 3), requires_grad=bool(i % 3)) for i in range(4)]
    pool = list(leaves)
    for _ in range(40):
        kind = rng.integers(6)
        a, b, c = (pool[int(i)] for i in rng.integers(len(pool), size=3))
        if kind == 0:
            t = (a * 0.5).tanh()
        elif kind == 1:
            t = a * b
        elif kind == 2:
            t = a + b - c
        elif kind == 3:
            t = tg.concatenate([a, b, c]).reshape(3, 3).sum(axis=0) * 0.1
        elif kind == 4:
            t = tg.stack([a, b, c, a]).mean(axis=0)
        else:
            t = b.sigmoid()
        pool.append(t)
    root = pool[-1]
    for t in pool[-12:-1]:
        root = root + t
    return root.sum(), leaves


@pytest.mark.parametrize("seed", range(8))
def test_walk_gives_the_order_of_a_plain_depth_first_walk(seed):
    root, leaves = _random_graph(seed)
    assert topological_order(root) == _reference_order(root)
    order = visit_order(root)
    assert order[:len(order) - sum(t.requires_grad for t in leaves)] == _reference_order(root)[::-1]


def test_walk_through_a_100k_chain_needs_no_recursion():
    x = _leaf([0.5])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    order = topological_order(y)
    assert len(order) == 100_000 and order[0].parents[0] is x and order[-1] is y


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("intermediate", [True, False])
def test_random_graphs_give_the_general_paths_gradients_bit_for_bit(seed, intermediate):
    got = []
    for observer in (None, lambda *e: None):  # an observer takes the general path (_propagate)
        root, leaves = _random_graph(seed)
        nodes = topological_order(root)
        root.backward(observer=observer, intermediate_grads=intermediate)
        got.append([t.grad.data.tobytes() if t.grad is not None else None for t in leaves + nodes])
    assert got[0] == got[1]


def test_random_graph_matches_central_differences():
    def fn(*ts):
        return ((ts[0] * ts[1] + ts[2]).tanh() * 0.5 + tg.concatenate([ts[0], ts[1], ts[2]]).reshape(3, 3)
                .sum(axis=0)).sigmoid() * ts[1]

    rng = np.random.default_rng(2)
    assert gradcheck(fn, *(rng.uniform(0.5, 1.5, 3) for _ in range(3))).ok


def test_walk_still_refuses_a_deep_input_changed_in_place_before_any_grad_changes():
    x, w = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    h = (x * w).tanh()
    loss = ((h * 2.0).exp() + w).sum()
    with tg.no_grad():
        x += 1.0  # mul saw x at version 0
    with pytest.raises(RuntimeError, match=r"an input of 'mul' .* was modified in place after the op used it"):
        loss.backward()
    assert x.grad is None and w.grad is None and h.grad is None


def test_walk_still_refuses_a_released_graph_under_a_new_root():
    x, w = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    h = (x * w).tanh()
    h.sum().backward()
    before = x.grad.data.copy()
    with pytest.raises(GraphReleasedError, match="already released"):
        (h * 3.0).sum().backward()
    assert np.array_equal(x.grad.data, before)


def test_a_named_node_passes_the_walk():
    x = _leaf([1.0, 2.0])
    h = x.exp()
    h.name = "h"
    (h * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, (np.exp(x.data) * x.data + np.exp(x.data)).astype(np.float32))


# --- an intermediate's gradient stored as its VJPs made it --------------------------------------

def _mixed():
    """A float32 node whose consumer works in float64: its gradient arrives as float64."""
    x32 = _leaf([0.3, 0.7, 1.1])
    x64 = _leaf([1.5, 0.5, 2.0], np.float64)
    h = x32.tanh()
    return (h * x64).sum(), h, x32, x64


@pytest.mark.parametrize("times", [1, 2])
def test_an_intermediate_gradient_of_another_dtype_reads_as_the_general_path_stores_it(times):
    got = []
    for observer in (None, lambda *e: None):
        loss, h, x32, x64 = _mixed()
        for _ in range(times):
            loss.backward(observer=observer, retain_graph=True)
        got.append((h.grad.data, x32.grad.data, x64.grad.data))
    for a, b in zip(*got):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert got[0][0].dtype == np.float32 and got[0][1].dtype == np.float32


def test_an_uncast_intermediate_gradient_adds_in_the_nodes_dtype_on_either_path():
    # the first backward() takes the usual pass (stores float64 bare), the second the general one
    loss, h, _, x64 = _mixed()
    loss.backward(retain_graph=True)
    assert h._grad.dtype == np.float64  # stored as it came
    loss.backward(observer=lambda *e: None, retain_graph=True)
    want = (x64.data.astype(np.float32) + x64.data.astype(np.float32))
    assert h.grad.data.dtype == np.float32 and h.grad.data.tobytes() == want.tobytes()


def test_a_grad_the_user_set_to_another_dtype_is_added_as_before():
    loss, h, _, x64 = _mixed()
    h.grad = Tensor(np.ones(3, np.float64))  # a Tensor, not backward()'s bare array: added as it is
    loss.backward()
    assert h.grad.data.dtype == np.float64
    np.testing.assert_array_equal(h.grad.data, 1.0 + x64.data.astype(np.float32))


# --- the walk's mark in _pending ------------------------------------------------------------------

def _all_tensors(root):
    seen, stack = {}, [root]
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen[id(t)] = t
            stack.extend(t.parents)
    return list(seen.values())


@pytest.mark.parametrize("call", ["backward", "observer", "create_graph", "grad", "topological_order", "visit_order",
                                  "no_intermediate"])
def test_no_tensor_keeps_the_walks_mark_after_any_engine_call(call):
    root, leaves = _random_graph(3)
    if call == "backward":
        root.backward()
    elif call == "observer":
        root.backward(observer=lambda *e: None)
    elif call == "create_graph":
        root.backward(create_graph=True)
    elif call == "grad":
        tg.grad(root, [t for t in leaves if t.requires_grad])
    elif call == "topological_order":
        topological_order(root)
    elif call == "visit_order":
        visit_order(root)
    else:
        root.backward(intermediate_grads=False)
    assert all(t._pending is None for t in _all_tensors(root))


@pytest.mark.parametrize("observer", [None, lambda *e: None])
def test_a_walk_that_raises_leaves_no_mark_and_the_next_backward_works(observer):
    x, w = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    a = (x * w).exp()  # walked before the failing node is met
    b = (x + 1.0).tanh()
    loss = (a + (b * 2.0)).sum()
    with tg.no_grad():
        b += 1.0  # the mul by 2.0 saw b at version 0
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward(observer=observer)
    assert all(t._pending is None for t in _all_tensors(loss))
    fresh = ((x * w).exp() + (x + 1.0).tanh() * 2.0).sum()
    fresh.backward(observer=observer)
    want = np.exp(x.data * w.data) * w.data + 2.0 * (1.0 - np.tanh(x.data + 1.0) ** 2)
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-6)


def test_two_roots_sharing_nodes_and_a_root_given_twice_sum_as_the_general_path():
    got = []
    for observer in (None, lambda *e: None):
        x, w = _leaf([0.5, 1.5]), _leaf([2.0, 0.25])
        h = (x * w).tanh()
        y1, y2 = (h * x).sum(), (h + w).sum()
        grads = tg.grad([y1, y2, y1], [x, w], observer=observer)
        got.append([g.data.tobytes() for g in grads])
    assert got[0] == got[1]


def test_parameters_changed_in_place_by_earlier_steps_pass_the_walk_and_a_stale_graph_is_refused():
    w = _leaf([0.5, -1.0])
    b = _leaf([0.1, 0.2])
    x = _leaf([1.0, 2.0], requires_grad=False)
    opt = tg.optim.SGD([w, b], lr=0.1)
    for _ in range(3):  # every step changes w and b in place: versions other than 0 from then on
        opt.zero_grad()
        loss = ((x * w + b).tanh() * (x * w)).sum()
        loss.backward()
        opt.step()
    assert w._version and b._version
    got = []
    for observer in (None, lambda *e: None):
        w.grad = b.grad = None
        ((x * w + b).tanh() * (x * w)).sum().backward(observer=observer)
        got.append((w.grad.data.tobytes(), b.grad.data.tobytes()))
    assert got[0] == got[1]
    stale = ((x * w + b).tanh() * (x * w)).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place after the op used it"):
        stale.backward()


def test_nodes_made_from_changed_inputs_remember_each_parents_version():
    from tinygrad_loss.inplace import bump_version

    a, b, c = _leaf([1.0, 2.0]), _leaf([3.0, 4.0]), _leaf([5.0, 6.0])
    bump_version(a)
    bump_version(b)
    bump_version(b)
    one = a.exp()
    assert one._saved_versions == ((a, 1),) and one._saved_versions[0][0] is a
    two = tg.matmul(a.reshape(1, 2), b.reshape(2, 1))  # custom front-end: make_node
    assert two.parents[0]._saved_versions == ((a, 1),)
    assert two._saved_versions is None  # its parents are reshape nodes, at version 0
    both = tg.ops.make_node(a._data * b._data, tg.ops.OPS["mul"], (a, b))
    assert both._saved_versions == ((a, 1), (b, 2)) and both.parents == (a, b)
    three = tg.concatenate([a, b, c])
    assert three._saved_versions == ((a, 1), (b, 2), (c, 0))
    (both.sum() + three.sum() + one.sum()).backward()  # versions unchanged since: no refusal
    np.testing.assert_array_equal(b.grad.data, a.data + 1.0)
