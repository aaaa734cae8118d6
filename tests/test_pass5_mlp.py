"""Fifth speed pass, MLP step: every fast path gives the bits of the general path.

SGD's blocked update (``optim._minus_scaled``: weights larger than ``optim.UPDATE_BLOCK`` elements are
updated block by block through a small buffer, instead of through a temporary of their whole size) is
checked against the one-call NumPy formula ``w - lr*g`` (and ``v = m*v - lr*g``, ``w + v``) and against
the general path (a subclass with its own ``update``), on sizes just around the block size, several
dtypes, signed zeros, and the arrays the blocked form must leave to the one call (views that are not
C-contiguous, a gradient that shares the weight's memory).
"""
from __future__ import annotations

import numpy as np
import pytest

from loop_reference import sgd_update
from tinygrad_loss import Tensor, losses, nn, optim


class GeneralSGD(optim.SGD):
    """SGD through ``Optimizer._apply`` and ``update`` (an overridden ``update`` turns the fast path off)."""

    def update(self, w, g, state, lr):
        return optim.SGD.update(self, w, g, state, lr)


BLOCK = optim.UPDATE_BLOCK
SIZES = [(BLOCK,), (BLOCK + 1,), (3, BLOCK - 5), (2 * BLOCK,), (7, BLOCK // 3 + 11)]


def _pair(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal(shape) * 3).astype(dtype)
    g = (rng.standard_normal(shape) * 50).astype(dtype)
    w.reshape(-1)[:4] = [-0.0, 0.0, -0.0, 1.0]  # signed zeros: w - lr*g keeps or flips them
    g.reshape(-1)[:4] = [0.0, 0.0, -0.0, -0.0]
    return w, g


def _steps(cls, shape, dtype, lr, momentum, steps=3):
    w0, _ = _pair(shape, dtype, 0)
    p = Tensor(w0.copy(), requires_grad=True)
    opt = cls([p], learning_rate=lr, momentum=momentum)
    for s in range(steps):
        p.grad = Tensor(_pair(shape, dtype, 10 + s)[1])
        opt.step()
    return p.data, opt


def _numpy(shape, dtype, lr, momentum, steps=3):
    w, _ = _pair(shape, dtype, 0)
    v = np.zeros_like(w)
    for s in range(steps):
        sgd_update(w, v, _pair(shape, dtype, 10 + s)[1], lr, momentum)
    return w, v


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("lr,momentum", [(0.01, 0.0), (0.37, 0.0), (-0.0, 0.0), (0.01, 0.9)])
def test_blocked_sgd_update_gives_the_bits_of_one_call_and_of_the_general_path(shape, dtype, lr, momentum):
    fast, opt = _steps(optim.SGD, shape, dtype, lr, momentum)
    general, gopt = _steps(GeneralSGD, shape, dtype, lr, momentum)
    expected, v = _numpy(shape, dtype, lr, momentum)
    assert fast.dtype == general.dtype == dtype and fast.shape == shape
    assert fast.tobytes() == general.tobytes() == expected.tobytes()
    if momentum:
        assert opt.state[0]["momentum"].tobytes() == gopt.state[0]["momentum"].tobytes() == v.tobytes()


def test_the_blocked_form_is_taken_for_big_weights_and_makes_no_temporary_of_their_size():
    # The point of the change: the update of a big weight allocates one block, not a copy of the weight.
    import tracemalloc

    w, g = _pair((64, BLOCK // 4), np.float32, 1)
    p = Tensor(w, requires_grad=True)
    opt = optim.SGD([p], learning_rate=0.1)
    p.grad = Tensor(g)
    opt.step()  # first step: constants made
    expected = p.data - np.float32(0.1) * g
    p.grad = Tensor(g)
    tracemalloc.start()
    try:
        opt.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert p.data.tobytes() == expected.tobytes()
    assert peak < w.nbytes // 4  # one block of BLOCK float32 (256 KiB) against the weight's 4 MiB


def test_non_contiguous_and_overlapping_arrays_take_the_one_call():
    # a weight that is a transposed view, a gradient that is the weight itself or a reversed view of it:
    # the blocked form would read entries it already wrote, so these keep subtract(w, multiply(g, lr), w)
    base = _pair((3, BLOCK), np.float32, 2)[0]
    cases = []
    w = base.copy().T  # F-ordered weight
    cases.append((w, _pair((BLOCK, 3), np.float32, 3)[1]))
    w = base.copy()
    cases.append((w, w))  # the gradient is the weight's own array
    w = base.copy().reshape(-1)
    cases.append((w, w[::-1]))  # a reversed view of the weight
    for w, g in cases:
        expected = w - np.float32(0.25) * g  # (computed before w changes)
        optim._minus_scaled(w, g, np.array(0.25, np.float32))
        assert w.tobytes() == expected.tobytes()


def test_minus_scaled_of_a_big_contiguous_pair_equals_the_one_call():
    rng = np.random.default_rng(4)
    for n in (BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 7):
        w = rng.standard_normal(n).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        rate = np.array(0.01, np.float32)
        expected = np.subtract(w, np.multiply(g, rate))
        optim._minus_scaled(w, g, rate)
        assert w.tobytes() == expected.tobytes()


# --- the loss class's scope, entered inline --------------------------------------------------

def _scopes_of(loss):
    import tinygrad_loss as tl
    return [(t.op or None, t.scope) for t in tl.topological_order(loss)]


class PlainScopeCCE(losses.CategoricalCrossentropy):
    """The same loss through Loss.__call__ and the _Scope objects (a scope_name of its own turns the
    inline scope off); its scope name is the class's, as for the built-in."""

    @property
    def scope_name(self):
        return "CategoricalCrossentropy"


@pytest.mark.parametrize("outer", [None, "model", "outer/CategoricalCrossentropy", "CategoricalCrossentropy"])
def test_the_loss_call_records_the_scopes_of_the_scope_objects_and_restores_the_outer_scope(outer):
    import contextlib

    from tinygrad_loss import name_scope
    from tinygrad_loss.autograd import STATE

    rng = np.random.default_rng(5)
    logits = Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    y = Tensor(np.eye(3, dtype=np.float32)[[0, 2, 1, 1]])
    fast = losses.CategoricalCrossentropy(from_logits=True)
    assert type(fast)._one_scope and not PlainScopeCCE._one_scope
    results = []
    for loss_fn in (fast, PlainScopeCCE(from_logits=True), fast):  # the second fast call: the cached string
        ctx = name_scope(outer.split("/")[0]) if outer else contextlib.nullcontext()
        with ctx:
            if outer and "/" in outer:
                with name_scope(outer.split("/")[1]):
                    before = STATE.scope
                    loss = loss_fn(y, logits)
                    assert STATE.scope == before
            else:
                before = STATE.scope
                loss = loss_fn(y, logits)
                assert STATE.scope == before
        results.append((loss.data.tobytes(), _scopes_of(loss)))
    assert results[0] == results[1] == results[2]
    assert all(s.endswith("CategoricalCrossentropy") for op, s in results[0][1] if op is not None)


def test_a_refused_loss_call_restores_the_outer_scope():
    from tinygrad_loss import name_scope
    from tinygrad_loss.autograd import STATE

    bad = Tensor(np.array([[np.nan, 0.0]], np.float32), requires_grad=True)
    y = Tensor(np.array([[1.0, 0.0]], np.float32))
    with name_scope("model"):
        with pytest.raises(ValueError, match="CategoricalCrossentropy: y_pred"):
            losses.CategoricalCrossentropy(from_logits=True)(y, bad)
        assert STATE.scope == "model"
    assert STATE.scope == ""


# --- Dense's nodes, made inline ---------------------------------------------------------------

def _node_fields(t, chain):
    """What make_node sets on a node, with parents named by position (in ``chain``, or the object itself)."""
    def ref(r):
        for i, c in enumerate(chain):
            if r is c:
                return ("chain", i)
        return r
    tag = t._tag
    versions = None if tag.__class__ is str else tuple((ref(r), v) for r, v in tag.saved_versions)
    return (t._op, ref(t._in0), ref(t._in1), t._saved, t.requires_grad, t._version, t._grad, t._pending,
            tag.__class__ is str, versions, t._data.dtype, t._data.tobytes())


def _make_node_chain(layer, x):
    """The nodes Dense.forward made before, through make_node (the general path), for comparison."""
    from tinygrad_loss._opkit import OPS, make_node
    y = make_node(np.matmul(x._data, layer.kernel._data), OPS["matmul"], (x, layer.kernel))
    if layer.use_bias:
        y = make_node(y._data + layer.bias._data, OPS["add"], (y, layer.bias))
    return make_node(OPS["relu"].forward(y._data), OPS["relu"], (y,)) if layer.activation is \
        nn.activations.relu else y


def _chain(t, n):
    out = [t]
    for _ in range(n - 1):
        t = t._in0
        out.append(t)
    return out


@pytest.mark.parametrize("stepped", [False, True])
@pytest.mark.parametrize("x_grad,frozen", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("act,use_bias", [("relu", True), (None, True), ("relu", False)])
def test_dense_makes_the_nodes_make_node_makes(stepped, x_grad, frozen, act, use_bias):
    from tinygrad_loss import name_scope
    rng = np.random.default_rng(6)
    layer = nn.Dense(3, activation=act, use_bias=use_bias, input_shape=(4,))
    x = Tensor(rng.standard_normal((2, 4)).astype(np.float32), requires_grad=x_grad)
    if stepped:  # parameters changed in place: the nodes keep the versions they saw
        opt = optim.SGD(layer.parameters(), learning_rate=0.1)
        for _ in range(2):
            opt.zero_grad()
            layer(x).sum().backward()
            opt.step()
    if frozen:
        for p in layer.parameters():
            p.requires_grad = False
    with name_scope("model"):
        out = layer(x)
        expected = _make_node_chain(layer, x)  # (in the layer's scope: compare without the scope)
    n = 1 + use_bias + (act == "relu")
    got, want = _chain(out, n), _chain(expected, n)
    for a, b in zip(got, want):
        assert _node_fields(a, got) == _node_fields(b, want)
        assert a.scope == "model/" + layer.name and b.scope == "model"
    assert got[-1]._in0 is x


def test_a_graph_made_before_an_optimizer_step_is_refused_as_before():
    rng = np.random.default_rng(7)
    model = nn.Sequential([nn.Dense(3, activation="relu", input_shape=(4,)), nn.Dense(2)])
    x = Tensor(rng.standard_normal((5, 4)).astype(np.float32))
    opt = optim.SGD(model.parameters(), learning_rate=0.1)
    model(x).sum().backward()
    opt.step()  # versions 1
    stale = model(x).sum()
    opt.step()  # the kernels change after the graph saw them
    with pytest.raises(RuntimeError, match=r"kernel.* was modified in place after the op used it \(version 2, the op saw version 1\)"):
        stale.backward()


def test_dense_in_no_grad_and_under_detect_anomaly_keeps_the_general_path():
    import tinygrad_loss as tl
    rng = np.random.default_rng(8)
    layer = nn.Dense(3, activation="relu", input_shape=(4,))
    x = Tensor(rng.standard_normal((2, 4)).astype(np.float32))
    with tl.no_grad():
        out = layer(x)
    assert not out.requires_grad and out._op is None
    with tl.detect_anomaly():
        out = layer(x)
        out.sum().backward()
    assert layer.kernel.grad is not None
