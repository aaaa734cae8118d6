"""The backward engine: backward(), grad(), higher-order derivatives, graph release and memory,
no_grad / enable_grad, name scopes."""
import gc
import math
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor, ops
from tinygrad_loss.autograd import GraphReleasedError, topological_order


def leaf(x, dtype=np.float64):
    return Tensor(np.asarray(x, dtype=dtype), requires_grad=True)


# --- backward() arguments -------------------------------------------------------------------

def test_scalar_backward_needs_no_gradient():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])
    y = leaf([[2.0]])  # any one-element output counts as a scalar
    (y * 3.0).backward()
    np.testing.assert_array_equal(y.grad.data, [[3.0]])


def test_non_scalar_backward_without_gradient_is_a_clear_error():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"gradient argument is needed for a non-scalar output of shape \(2,\)"):
        (x * 2).backward()
    assert x.grad is None


def test_backward_with_explicit_gradient_is_a_vjp():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(gradient=np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 40.0, 600.0])


def test_wrong_shape_gradient_is_a_clear_error():
    x = leaf(np.ones((2, 3)))
    y = x * 2
    with pytest.raises(ValueError, match=r"gradient has shape \(3, 2\) but the output has shape \(2, 3\)"):
        y.backward(gradient=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"shape \(\) .* \(2, 3\)"):
        y.backward(gradient=1.0)
    assert x.grad is None


def test_backward_of_a_tensor_without_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        (Tensor([1.0]) * 2).sum().backward()


def test_gradients_accumulate_across_calls_until_zero_grad():
    x = leaf([1.0, -2.0])
    for k in range(1, 4):
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.data, k * np.array([2.0, -4.0]))
    x.zero_grad()
    assert x.grad is None
    (3 * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_only_tensors_that_require_grad_get_a_gradient():
    x = leaf([1.0, 2.0])
    c = Tensor([3.0, 4.0])
    k = c * 2            # constant branch: recorded, but needs no gradient
    h = x * k            # intermediate that requires grad
    loss = h.sum()
    loss.backward()
    assert c.grad is None and k.grad is None and not k.requires_grad
    np.testing.assert_array_equal(x.grad.data, [6.0, 8.0])
    # every tensor that requires grad holds its gradient after backward (teaching choice)
    np.testing.assert_array_equal(h.grad.data, [1.0, 1.0])
    assert loss.grad.item() == 1.0
    assert x.grad.requires_grad is False and x.grad.is_leaf


def test_leaf_gradients_are_private_writable_arrays():
    """In-place edits of one .grad (e.g. gradient clipping) never reach another tensor's gradient."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    s = a + b                       # add hands the same upstream gradient to both inputs
    (s.sum() + b.sum()).backward()
    a.grad.data *= 10
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(s.grad.data, [1.0, 1.0])
    w = leaf(np.ones((2, 3)))
    w.sum().backward()              # sum's VJP is a read-only broadcast view
    w.grad.data *= 0.5
    np.testing.assert_array_equal(w.grad.data, np.full((2, 3), 0.5))
    v = leaf([1.0, 2.0])
    v.reshape(2, 1).sum().backward()
    assert v.grad.data.base is None and v.grad.data.flags.writeable


def test_shared_subexpression_sums_contributions():
    x = leaf(3.0)
    y = x * x
    z = y * y + y            # z = x^4 + x^2, dz/dx = 4x^3 + 2x
    z.backward()
    assert x.grad.item() == 4 * 27 + 6


# --- iterative topological order: deep graphs, linear work ----------------------------------

def test_chain_of_100000_ops_backprops_without_recursion_error():
    n = 100_000
    x = leaf(1.0)
    y = x
    c = 1.0 + 1e-5
    for _ in range(n):
        y = y * c
    y.backward()
    assert x.grad.item() == pytest.approx(c ** n, rel=1e-9)
    del y  # freeing a 100,000-deep chain must not overflow the C stack either


def test_backward_work_is_linear_in_graph_size():
    """Count what the engine does (deterministic), not wall-clock: each node visited once,
    each edge used once, for chains and for a diamond-heavy graph where naive recursion explodes."""
    def events(n, diamond):
        x = leaf(0.5)
        y = x
        for _ in range(n):
            y = (y + y) * 0.5 if diamond else y * 1.0
        counts = {"visit": 0, "contribution": 0}
        y.backward(observer=lambda ev, t, payload: counts.__setitem__(ev, counts[ev] + 1))
        return len(topological_order(y)), counts

    for n in (1000, 2000, 4000):
        nodes, counts = events(n, diamond=False)
        assert nodes == n and counts["visit"] == n + 1 and counts["contribution"] == n + 1
        nodes, counts = events(n, diamond=True)
        # per step: add (2 edges to the same parent), mul (1 edge) -> 2n nodes, 3n edges + root
        assert nodes == 2 * n and counts["visit"] == 2 * n + 1 and counts["contribution"] == 3 * n + 1


def test_topological_order_puts_parents_first():
    x = leaf(1.0)
    a = x * 2
    b = a + x
    c = a * b
    order = topological_order(c)
    pos = {id(t): i for i, t in enumerate(order)}
    for node in order:
        for p in node.parents:
            if id(p) in pos:
                assert pos[id(p)] < pos[id(node)]
    assert order[-1] is c and len(order) == 3


# --- releasing the graph ----------------------------------------------------------------------

def test_second_backward_through_released_graph_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward()
    g = x.grad.data.copy()
    with pytest.raises(GraphReleasedError, match="already released.*retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad.data, g)  # the failed call changed nothing
    assert isinstance(GraphReleasedError("x"), RuntimeError)


def test_released_shared_subgraph_is_detected_and_nothing_is_accumulated():
    x = leaf(2.0)
    h = x * 3
    (h * h).backward()
    z = h + 1
    with pytest.raises(GraphReleasedError, match="'mul'"):
        z.backward()
    assert z.grad is None and x.grad.item() == 36.0


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    with pytest.raises(GraphReleasedError):
        y.backward()


def test_structure_survives_release_for_drawing():
    x = leaf(1.0)
    y = (x * 2).exp()
    y.backward()
    assert y.op == "exp" and y.parents[0].op == "mul" and y.parents[0].parents[0] is x


def _weak_graph(retain: bool, backward: bool):
    w = leaf(np.ones((4, 3)))
    x = Tensor(np.ones((5, 4)))
    loss = ((x @ w).tanh() ** 2).mean()
    refs = [weakref.ref(t) for t in topological_order(loss)]
    if backward:
        loss.backward(retain_graph=retain)
    return refs


@pytest.mark.parametrize("retain, backward", [(False, True), (True, True), (False, False)])
def test_graph_is_freed_by_reference_counting_alone(retain, backward):
    gc.collect()
    gc.disable()
    try:
        refs = _weak_graph(retain, backward)
        assert refs and all(r() is None for r in refs), "a reference cycle keeps graph nodes alive"
    finally:
        gc.enable()


def test_memory_stays_flat_over_10000_training_steps():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    x = Tensor(rng.standard_normal((8, 4)))
    t = Tensor(rng.standard_normal((8, 3)))

    def step():
        loss = (ops.log_softmax(x @ w + b) * t).mean()
        loss.backward()
        with tg.no_grad():
            w.data -= 1e-3 * w.grad.data
            b.data -= 1e-3 * b.grad.data
        w.zero_grad(), b.zero_grad()

    tracemalloc.start()
    try:
        for _ in range(200):
            step()
        # gc.collect() also empties CPython's free lists (spare tuples/floats), which would
        # otherwise fill up with traced blocks and look like growth.
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10_000):
            step()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # a leak of even one small object per step would add > 10,000 * 50 bytes
    assert after - before < 16 * 1024, f"memory grew by {after - before} bytes over 10,000 steps"


# --- tinygrad_loss.grad and higher-order derivatives -------------------------------------------

def test_grad_returns_without_touching_dot_grad():
    x, y = leaf([1.0, 2.0]), leaf(3.0)
    gx, gy = tg.grad((x * y).sum(), [x, y])
    np.testing.assert_array_equal(gx.data, [3.0, 3.0])
    assert gy.item() == 3.0
    assert x.grad is None and y.grad is None
    assert not gx.requires_grad
    (g,) = tg.grad(x * x, x, grad_outputs=Tensor([1.0, -1.0]))
    np.testing.assert_array_equal(g.data, [2.0, -4.0])


def test_grad_unused_input_and_bad_inputs():
    x, u = leaf(1.0), leaf(2.0)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        tg.grad(x * 2, [x, u])
    gx, gu = tg.grad(x * 2, [x, u], allow_unused=True)
    assert gx.item() == 2.0 and gu is None
    with pytest.raises(ValueError, match="requires_grad=True"):
        tg.grad(x * 2, Tensor(1.0))
    with pytest.raises(ValueError, match="1 outputs but 2 grad_outputs"):
        tg.grad(x * 2, x, grad_outputs=[1.0, 2.0])


def test_grad_of_an_intermediate_and_multiple_outputs():
    x = leaf(2.0)
    h = x * x
    out = h * 3 + x
    gh, gx = tg.grad(out, [h, x])
    assert gh.item() == 3.0 and gx.item() == 13.0
    a, b = leaf(1.5), leaf(-1.0)
    (g,) = tg.grad([a * a, a * 3], a, grad_outputs=[1.0, 2.0])  # sum of VJPs: 2a + 6
    assert g.item() == pytest.approx(9.0)
    (gb,) = tg.grad([a * b], [b])
    assert gb.item() == 1.5


def test_create_graph_result_is_differentiable():
    x = leaf(0.7)
    (g,) = tg.grad(x ** 4, x, create_graph=True)
    assert g.requires_grad and g.op is not None
    (g2,) = tg.grad(g, x, create_graph=True)
    (g3,) = tg.grad(g2, x)
    assert g.item() == pytest.approx(4 * 0.7 ** 3)
    assert g2.item() == pytest.approx(12 * 0.7 ** 2)
    assert g3.item() == pytest.approx(24 * 0.7)


def test_backward_create_graph_accumulates_differentiable_grad():
    x = leaf([0.5, -1.0])
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    gx = x.grad
    x.zero_grad()
    gx.sum().backward()  # d/dx sum(3x^2) = 6x
    np.testing.assert_allclose(x.grad.data, [3.0, -6.0])


def fd_second_derivative(f, x, h=1e-4):
    """(f(x+h) - 2 f(x) + f(x-h)) / h², elementwise, in float64."""
    return (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2


SECOND_DERIVATIVES = {
    "tanh": (ops.tanh, np.tanh, np.linspace(-2, 2, 7)),
    "sigmoid": (ops.sigmoid, lambda v: 1 / (1 + np.exp(-v)), np.linspace(-4, 4, 7)),
    "exp": (ops.exp, np.exp, np.linspace(-2, 2, 7)),
    "log": (ops.log, np.log, np.linspace(0.3, 3, 7)),
    "pow x^3": (lambda t: t ** 3.0, lambda v: v ** 3, np.linspace(-2, 2, 7)),
    "pow x^2.5": (lambda t: t ** 2.5, lambda v: v ** 2.5, np.linspace(0.3, 3, 7)),
    "pow 2^x": (lambda t: 2.0 ** t, lambda v: 2.0 ** v, np.linspace(-2, 2, 7)),
    "pow x^x": (lambda t: t ** t, lambda v: v ** v, np.linspace(0.3, 2, 7)),
    "sqrt": (ops.sqrt, np.sqrt, np.linspace(0.3, 3, 7)),
    "erf": (ops.erf, np.vectorize(math.erf), np.linspace(-2, 2, 7)),
    "softplus via log1p(exp)": (lambda t: ops.log1p(ops.exp(t)), lambda v: np.log1p(np.exp(v)), np.linspace(-3, 3, 7)),
}


@pytest.mark.parametrize("name", SECOND_DERIVATIVES)
def test_elementwise_second_derivative_matches_finite_differences(name):
    fn, ref, xs = SECOND_DERIVATIVES[name]
    x = leaf(xs)
    (g,) = tg.grad(fn(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)   # elementwise f: the Hessian is diagonal
    np.testing.assert_allclose(h.data, fd_second_derivative(ref, xs), rtol=1e-5, atol=1e-6)


def test_matmul_expression_second_derivatives():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 3))
    x0 = rng.standard_normal(3)

    def f_np(v):
        return np.sum(np.tanh(A @ v) ** 2) + v @ (A.T @ A) @ v

    def f(v):
        At = Tensor(A)
        return (ops.tanh(At @ v) ** 2).sum() + v @ (At.T @ At) @ v

    x = leaf(x0)
    (g,) = tg.grad(f(x), x, create_graph=True)
    H = np.stack([tg.grad(g[i], x, retain_graph=True)[0].data for i in range(3)])
    h = 1e-4
    H_fd = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * h, np.eye(3)[j] * h
            H_fd[i, j] = (f_np(x0 + ei + ej) - f_np(x0 + ei - ej) - f_np(x0 - ei + ej) + f_np(x0 - ei - ej)) / (4 * h * h)
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_hessian_vector_product_matches_finite_differences():
    rng = np.random.default_rng(7)
    W = rng.standard_normal((5, 4))
    y = rng.uniform(0, 1, 5)
    x0, v = rng.standard_normal(4), rng.standard_normal(4)

    def loss(p):
        z = Tensor(W) @ p
        return (ops.logsumexp(z) - (Tensor(y) * ops.log_softmax(z)).sum() + (p ** 4).sum() / 4
                + ops.sigmoid(z).mean())

    def grad_np(p0):
        p = leaf(p0)
        return tg.grad(loss(p), p)[0].data

    p = leaf(x0)
    (g,) = tg.grad(loss(p), p, create_graph=True)
    (hv,) = tg.grad((g * Tensor(v)).sum(), p)
    eps = 1e-5
    hv_fd = (grad_np(x0 + eps * v) - grad_np(x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.data, hv_fd, rtol=1e-6, atol=1e-8)


def test_mixed_partial_derivatives():
    x, y = leaf(0.8), leaf(-0.3)
    (gx,) = tg.grad(ops.exp(x * y) * x, x, create_graph=True)
    (gxy,) = tg.grad(gx, y)
    # f = x e^{xy}: f_x = e^{xy}(1 + xy), f_xy = e^{xy}(x(1 + xy) + x) = x e^{xy}(2 + xy)
    assert gxy.item() == pytest.approx(0.8 * math.exp(-0.24) * (2 - 0.24), rel=1e-12)


# --- grad mode ---------------------------------------------------------------------------------

def test_no_grad_context_records_nothing():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = (x * 2).exp().sum()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.op is None and y.parents == () and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        y.backward()


def test_no_grad_and_enable_grad_as_decorators_and_nested():
    x = leaf(2.0)

    @tg.no_grad()
    def f(t):
        return t * 3

    @tg.no_grad
    def f_bare(t):
        return t * 3

    @tg.enable_grad()
    def g(t):
        return t * 3

    assert not f(x).requires_grad and not f_bare(x).requires_grad
    assert f.__name__ == "f" and f_bare.__name__ == "f_bare"
    with tg.no_grad():
        assert g(x).requires_grad
        with tg.enable_grad():
            assert (x * 1).requires_grad
            with tg.no_grad():
                assert not (x * 1).requires_grad
            assert (x * 1).requires_grad
        assert not (x * 1).requires_grad
    assert (x * 1).requires_grad


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()
    with pytest.raises(KeyError):
        with tg.name_scope("Broken"):
            raise KeyError
    assert tg.current_scope() == ""


def test_graph_recorded_without_requires_grad():
    a, b = Tensor([1.0]), Tensor([2.0])
    c = a * b
    assert c.op == "mul" and c.parents == (a, b) and not c.requires_grad


# --- name scopes ---------------------------------------------------------------------------------

def test_name_scope_tags_every_node_and_nests():
    x = leaf([1.0, 2.0])
    with tg.name_scope("Dense") as s:
        assert s == "Dense" and tg.current_scope() == "Dense"
        h = x * 2
        with tg.name_scope("MeanSquaredError"):
            d = h - 1.0
            loss = (d * d).mean()
        after = h + 1
    outside = loss * 1
    assert x.scope == ""
    assert h.scope == "Dense" and after.scope == "Dense"
    assert d.scope == "Dense/MeanSquaredError" and loss.scope == "Dense/MeanSquaredError"
    assert all(n.scope.startswith("Dense") for n in topological_order(loss))
    assert outside.scope == ""
    with tg.name_scope("A"), tg.name_scope("B"), tg.name_scope("C"):
        assert (x + 1).scope == "A/B/C"


@pytest.mark.parametrize("bad, err", [("", ValueError), ("a/b", ValueError), (None, TypeError), (3, TypeError)])
def test_name_scope_rejects_bad_names(bad, err):
    with pytest.raises(err, match="name_scope"):
        with tg.name_scope(bad):
            pass


# --- the engine's housekeeping: GC pause, pending sums, intermediate grads ----------------------

def test_backward_pauses_the_garbage_collector_and_restores_it_also_on_errors(monkeypatch):
    import gc

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    states = []
    (x * 3.0).sum().backward(observer=lambda *event: states.append(gc.isenabled()))
    assert states and not any(states) and gc.isenabled()

    def broken(g, o, a):
        raise ZeroDivisionError("a VJP failed")

    y = tg.exp(x)
    out = (y * 2.0).sum()
    monkeypatch.setattr(tg.ops.OPS["exp"], "raw", (broken,))
    with pytest.raises(ZeroDivisionError):
        out.backward(retain_graph=True)
    assert gc.isenabled()
    # no half-summed gradient was left behind: the next pass starts from zero
    assert x._pending is None and y._pending is None
    monkeypatch.undo()
    x.grad = None
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * np.exp([1.0, 2.0]))


def test_the_garbage_collector_is_put_back_exactly_as_it_was_also_after_an_interrupt():
    import gc

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def interrupt(event, tensor, payload):
        assert not gc.isenabled()
        if event == "visit":
            raise KeyboardInterrupt

    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            x.grad = None
            states = []
            tg.grad((tg.exp(x) * 2.0).sum(), x, observer=lambda *event: states.append(gc.isenabled()))
            assert states and not any(states) and gc.isenabled() is enabled
            with pytest.raises(KeyboardInterrupt):
                (x * 3.0).sum().backward(observer=interrupt)
            assert gc.isenabled() is enabled and x._pending is None and x.grad is None
            y = x * 2.0
            y.sum().backward()
            with pytest.raises(tg.GraphReleasedError):  # raised by the walk, before the pass
                y.sum().backward()
            assert gc.isenabled() is enabled
            assert len(tg.topological_order(y)) == 1 and len(tg.visit_order(y)) == 2
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_intermediate_grads_are_stored_bare_and_made_tensors_when_read():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = tg.tanh(x)
    s = (h * h).sum()          # a 0-d intermediate too
    out = s * 3.0
    out.backward(retain_graph=True)
    assert type(h._grad) is np.ndarray  # no Tensor made for a gradient nobody reads
    dh = 6 * np.tanh([0.5, -1.0])
    g = h.grad
    assert type(g) is Tensor and g is h.grad and not g.requires_grad and g.op is None
    np.testing.assert_allclose(g.numpy(), dh)
    out.backward()             # a second pass adds, to a read (Tensor) and an unread (array) gradient
    np.testing.assert_allclose(h.grad.numpy(), 2 * dh)
    assert type(s.grad) is Tensor and s.grad.shape == () and s.grad.item() == 6.0
    np.testing.assert_allclose(x.grad.numpy(), 2 * dh * (1 - np.tanh([0.5, -1.0]) ** 2))
    h.zero_grad()
    assert h.grad is None


def test_intermediate_grads_false_keeps_leaf_grads_only():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = tg.tanh(x)
    out = (h * h).sum()
    out.backward(intermediate_grads=False)
    assert h.grad is None and out.grad is None
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.tanh([0.5, -1.0]) * (1 - np.tanh([0.5, -1.0]) ** 2))


def test_fan_in_sums_are_not_recorded_unless_create_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x + x  # x receives three terms
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    assert g.requires_grad and g.op == "add"  # the sum of the terms is part of the recorded gradient
    (hess,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(hess.numpy(), [2.0, 2.0])
    (g2,) = tg.grad((x * x + x).sum(), x)
    assert not g2.requires_grad and g2.op is None
    np.testing.assert_allclose(g2.numpy(), [3.0, 5.0])


def test_backward_of_matmul_and_tanh_builds_fused_nodes_and_no_permute():
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    ga, gb = tg.grad(tg.tanh(a @ b).sum(), [a, b], create_graph=True)
    made = [t.op for t in topological_order([ga, gb])]
    assert "permute" not in made and made.count("tanh_grad") == 1 and made.count("matmul") == 3
    assert sorted(t.saved["ta"] or t.saved["tb"] for t in topological_order([ga, gb])
                  if t.op == "matmul" and t.saved) == [True, True]
    assert tg.gradgradcheck(lambda p, q: tg.tanh(p @ q), a.numpy(), b.numpy())
