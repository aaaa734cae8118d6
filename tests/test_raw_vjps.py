"""The two rule kinds of every op agree.

Each registry entry holds an op's VJPs twice: Tensor rules (differentiable; the backward pass runs
them when it is recorded, ``create_graph=True``) and raw rules on NumPy arrays (the first-order
pass runs them). Here, for every gradcheck case of ``test_ops_gradcheck.CASES`` and the extra
cases below, and for every node of the op in the graph (and in the graph of its recorded
gradient, where the fused rules and transposed products appear), both kinds are given the same
upstream gradient and must return the same array: same dtype, same shape, equal values up to
rounding. ``test_gradcheck`` (first-order passes, so raw rules) and ``test_gradgradcheck``
(Tensor rules, differentiated) then tie both to finite differences.
"""
import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor, ops
from tinygrad_loss._opkit import OPS, TensorRulesOnArrays, unregister
from tinygrad_loss.autograd import topological_order

from test_ops_gradcheck import CASES, Case

# Ops allowed to have Tensor rules only (they then run on wrapped arrays), each with the reason.
NO_RAW_RULES = {}

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
EXTRA = {
    "max": [Case("ties", lambda a: ops.max(a, axis=1), TIES), Case("ties, all", ops.max, TIES),
            Case("ties, keepdims -1", lambda a: ops.max(a, axis=-1, keepdims=True), TIES)],
    "min": [Case("ties", lambda a: ops.min(a, axis=0), TIES)],
    "maximum": [Case("ties", ops.maximum, np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0])),
                Case("ties broadcast", ops.maximum, np.array([[1.0], [2.0]]), np.array([1.0, 2.0, 0.0]))],
    "minimum": [Case("ties", ops.minimum, np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 3.0]))],
    "relu": [Case("at 0", ops.relu, np.array([-1.0, 0.0, 1.0]))],
    "abs": [Case("at 0", ops.abs, np.array([-1.0, 0.0, 1.0]))],
    "clip": [Case("at the bounds", lambda a: ops.clip(a, -1.0, 1.0), np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))],
    "sum": [Case("negative axes", lambda a: ops.sum(a, axis=(-1, -3), keepdims=True), np.ones((2, 3, 4))),
            Case("keepdims of 0-d", lambda a: ops.sum(a, keepdims=True), np.array(2.0))],
    "mean": [Case("axis -2", lambda a: ops.mean(a, axis=-2), np.arange(24.0).reshape(2, 3, 4))],
    "logsumexp": [Case("no axes", lambda a: ops.logsumexp(a, axis=()), np.arange(6.0).reshape(2, 3))],
    "getitem": [Case("repeated pairs", lambda a: a[[0, 0, 1], [2, 2, 2]], np.arange(12.0).reshape(3, 4))],
    "where": [Case("cond wider than both", lambda a, b: ops.where(np.array([[True], [False]]), a, b),
                   np.arange(3.0), np.array(1.5))],
    "matmul": [Case("batch @ batch", ops.matmul, np.ones((2, 3, 4)), np.ones((2, 4, 5)))],
}
ALL = {name: CASES[name] + EXTRA.get(name, []) for name in CASES}
PARAMS = [pytest.param(name, case, id=f"{name}[{case.label}]") for name, cases in ALL.items() for case in cases]
# ... in float64 and float32 (a float32 graph's gradients stay float32); a cast to float32 of float32
# inputs is no op at all, so that one case runs in float64 only.
TYPED = [pytest.param(name, case, dt, id=f"{name}[{case.label}]-{dt.__name__}") for name, cases in ALL.items()
         for case in cases for dt in (np.float64, np.float32) if (case.label, dt) != ("to float32", np.float32)]


def test_every_op_has_raw_rules():
    """Every op has raw rules of its own, unless it is allowed not to (and says why)."""
    without = {name for name, op in OPS.items() if isinstance(op.raw, TensorRulesOnArrays)}
    assert without <= set(NO_RAW_RULES), f"ops without raw rules (add them, or allow with a reason): " \
                                         f"{sorted(without - set(NO_RAW_RULES))}"
    assert set(NO_RAW_RULES) <= without, f"allowed but have raw rules now: {sorted(set(NO_RAW_RULES) - without)}"
    assert all(isinstance(why, str) and why for why in NO_RAW_RULES.values())


def _nodes_of(name, out):
    """Every node of op ``name`` in ``out``'s graph and in the recorded graph of its gradient."""
    leaves = [t for t in _leaves_of(out)]
    v = Tensor._wrap(np.random.default_rng(7).uniform(0.5, 1.5, out.shape).astype(out.dtype))
    grads = tg.grad(out, leaves, grad_outputs=v, create_graph=True, retain_graph=True, allow_unused=True)
    recorded = [g for g in grads if g is not None and g.requires_grad]
    nodes = topological_order([out] + recorded)
    return [n for n in nodes if n.op == name]


def _leaves_of(out):
    seen, leaves, todo = set(), [], [out]
    while todo:
        t = todo.pop()
        if id(t) not in seen:
            seen.add(id(t))
            if t.is_leaf and t.requires_grad:
                leaves.append(t)
            todo.extend(t.parents)
    return leaves


@pytest.mark.parametrize("name, case, dtype", TYPED)
def test_raw_rule_equals_tensor_rule(name, case, dtype):
    leaves = [Tensor(np.asarray(x, dtype=dtype), requires_grad=True) for x in case.inputs]
    out = case.fn(*leaves)
    nodes = _nodes_of(name, out)
    assert nodes, f"case {case} never runs {name}"
    op, rng = OPS[name], np.random.default_rng(3)
    checked = 0
    for node in nodes:
        g = rng.uniform(-1.5, 1.5, node.shape).astype(node.dtype)
        for i, p in enumerate(node.parents):
            if not p.requires_grad:
                continue
            with tg.no_grad():
                want = op.vjps[i](Tensor._wrap(g), node, *node.parents).data
            got = op.raw[i](g.copy(), node, *node.parents)
            assert isinstance(got, (np.ndarray, np.generic)), type(got)
            assert got.dtype == want.dtype and got.shape == want.shape == p.shape, (got.dtype, got.shape, want.dtype,
                                                                                    want.shape, p.shape)
            tol = dict(rtol=1e-12, atol=1e-12) if want.dtype == np.float64 else dict(rtol=2e-6, atol=2e-6)
            np.testing.assert_allclose(got, want, **tol, err_msg=f"{name} parent {i}")
            checked += 1
    assert checked


@pytest.mark.parametrize("name, case", PARAMS)
def test_first_order_pass_equals_recorded_pass(name, case):
    """The whole engine, both ways: gradients from the raw rules (summed as arrays) equal the
    recorded pass's (Tensor rules, summed by recorded adds), for every leaf."""
    leaves = [Tensor(x, requires_grad=True) for x in case.inputs]
    out = case.fn(*leaves)
    v = np.random.default_rng(11).uniform(0.5, 1.5, out.shape)
    raw = tg.grad(out, leaves, grad_outputs=v, retain_graph=True, allow_unused=True)
    recorded = tg.grad(out, leaves, grad_outputs=v, create_graph=True, allow_unused=True)
    for a, b in zip(raw, recorded):
        assert (a is None) == (b is None)
        if a is not None:
            assert not a.requires_grad and a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)


def test_an_op_without_raw_rules_runs_its_tensor_rules_unrecorded():
    calls = []

    def rule(g, o, a):
        calls.append(type(g))
        return g * a * a * 3.0

    cube = ops.defop("cube_tensor_rules_only", lambda x: x ** 3, rule)
    try:
        assert isinstance(OPS["cube_tensor_rules_only"].raw, TensorRulesOnArrays)
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = cube(x)
        (y * 2.0).sum().backward()
        assert x.grad.tolist() == [6.0, 24.0] and not x.grad.requires_grad and x.grad.is_leaf
        assert calls == [Tensor]  # the rule saw a Tensor (the wrapped array)
        assert y.grad.tolist() == [2.0, 2.0]
        (g,) = tg.grad(cube(x).sum(), x, create_graph=True)  # recorded: differentiable
        assert g.requires_grad and tg.grad(g.sum(), x)[0].tolist() == [6.0, 12.0]
    finally:
        unregister("cube_tensor_rules_only")


def test_defop_checks_the_number_of_raw_rules():
    with pytest.raises(ValueError, match="2 Tensor rules but 1 raw rules"):
        ops.defop("bad_raw", np.add, lambda g, o, a, b: g, lambda g, o, a, b: g, raw=(lambda g, o, a, b: g,))
    assert "bad_raw" not in OPS


def test_observer_payloads_are_tensors_on_the_first_order_pass():
    x = Tensor([0.5, -1.0], requires_grad=True)
    out = (tg.tanh(x) * x).sum()
    events = []
    out.backward(observer=lambda event, t, payload: events.append((event, t, payload)))
    grads = [p for e, _, p in events if e == "visit"] + [p[1] for e, _, p in events if e == "contribution"]
    assert grads and all(type(g) is Tensor and not g.requires_grad for g in grads)
    visited_x = [p for e, t, p in events if e == "visit" and t is x]
    np.testing.assert_array_equal(visited_x[0].data, x.grad.data)
