"""Every primitive in ``ops.OPS``: forward values, gradients, second derivatives and errors.

``CASES`` is keyed by op name and must cover ``ops.OPS`` exactly (``test_every_op_has_cases``).
Each case is gradchecked (float64 central differences) and gradgradchecked (the VJP itself is
differentiated and checked), and must really contain the op it is filed under.
"""
import math
import traceback

import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor, ops
from tinygrad_loss.autograd import topological_order

_SEED = [0]


def _rng() -> np.random.Generator:
    _SEED[0] += 1
    return np.random.default_rng(_SEED[0])


def normal(*shape):
    return _rng().standard_normal(shape)


def pos(*shape):
    """In [0.5, 2): inside the domain of log, sqrt, and safe as a divisor or pow base."""
    return _rng().uniform(0.5, 2.0, shape)


def away(*shape):
    """|x| in [0.2, 1.2] with random signs: no element near the kink of relu/abs at 0."""
    r = _rng()
    return r.choice([-1.0, 1.0], size=shape) * r.uniform(0.2, 1.2, shape)


def distinct(*shape):
    """All elements distinct and >= 4/n apart: max/min have a unique winner that eps cannot flip."""
    n = int(np.prod(shape))
    return _rng().permutation(np.linspace(-2.0, 2.0, n)).reshape(shape)


def grid(*shape, offset=0.0):
    """Multiples of 0.5 plus ``offset``: two grids with offsets 0 and 0.25 never come within 0.25."""
    n = int(np.prod(shape))
    return (_rng().integers(-4, 5, n) * 0.5 + offset).reshape(shape)


class Case:
    def __init__(self, label, fn, *inputs, second=True, **tol):
        self.label, self.fn, self.inputs, self.tol = label, fn, inputs, tol
        self.second = second  # False: finite differences of the VJP leave the function's domain

    def __repr__(self):
        return self.label


MASK34 = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
F32 = np.float32
W13 = normal(1, 3)
RELU_AT = away(3, 4)

CASES = {
    "add": [Case("same", ops.add, normal(3, 4), normal(3, 4)),
            Case("(3,1)+(1,4)", ops.add, normal(3, 1), normal(1, 4)),
            Case("scalar+matrix", ops.add, normal(), normal(3, 4)),
            Case("(2,3,4)+(4,)", ops.add, normal(2, 3, 4), normal(4)),
            Case("python scalar", lambda a: 2.5 + a, normal(3))],
    "sub": [Case("same", ops.sub, normal(3, 4), normal(3, 4)),
            Case("(3,1)-(1,4)", ops.sub, normal(3, 1), normal(1, 4)),
            Case("matrix-scalar", ops.sub, normal(3, 4), normal()),
            Case("(4,)-(2,3,4)", ops.sub, normal(4), normal(2, 3, 4)),
            Case("reflected ndarray", lambda a: np.arange(3.0) - a, normal(3))],
    "mul": [Case("same", ops.mul, normal(3, 4), normal(3, 4)),
            Case("(3,1)*(1,4)", ops.mul, normal(3, 1), normal(1, 4)),
            Case("scalar*matrix", ops.mul, normal(), normal(3, 4)),
            Case("(2,3,4)*(4,)", ops.mul, normal(2, 3, 4), normal(4)),
            Case("self*self", lambda a: a * a, normal(2, 3))],
    "div": [Case("same", ops.div, normal(3, 4), away(3, 4)),
            Case("(3,1)/(1,4)", ops.div, normal(3, 1), away(1, 4)),
            Case("scalar/matrix", ops.div, normal(), away(3, 4)),
            Case("(2,3,4)/(4,)", ops.div, normal(2, 3, 4), away(4)),
            Case("python scalar / t", lambda a: 1.5 / a, away(5))],
    "neg": [Case("matrix", ops.neg, normal(3, 4)), Case("0-d", ops.neg, normal())],
    "pow": [Case("t**3", lambda a: a ** 3.0, normal(3, 4)),
            Case("t**2.5", lambda a: a ** 2.5, pos(3, 4)),
            Case("t**-1.5", lambda a: a ** -1.5, pos(4)),
            Case("t**t", ops.pow, pos(3, 4), normal(3, 4)),
            Case("(3,1)**(1,4)", ops.pow, pos(3, 1), normal(1, 4)),
            Case("2**t", lambda b: 2.0 ** b, normal(5)),
            # the VJP for the exponent is x^e log x: undefined once a difference step makes x < 0
            Case("zero base, t exponent", ops.pow, np.array([0.0, 1.5, 0.7, 0.0]), np.array([2.0, 1.5, 3.0, 4.0]),
                 second=False),
            Case("zero base, t**2", lambda a: a ** 2.0, np.array([0.0, -1.0, 2.0])),
            Case("t**0 incl. zero base", lambda a: a ** 0.0, np.array([0.0, -1.0, 2.0]))],
    "exp": [Case("matrix", ops.exp, normal(3, 4)), Case("0-d", ops.exp, normal())],
    "log": [Case("matrix", ops.log, pos(3, 4))],
    "log1p": [Case("matrix", ops.log1p, _rng().uniform(-0.5, 2.0, (3, 4)))],
    "sqrt": [Case("matrix", ops.sqrt, pos(3, 4))],
    "abs": [Case("matrix", ops.abs, away(3, 4))],
    "tanh": [Case("matrix", ops.tanh, 2 * normal(3, 4))],
    "sigmoid": [Case("matrix", ops.sigmoid, 3 * normal(3, 4))],
    "relu": [Case("matrix", ops.relu, away(3, 4))],
    "erf": [Case("matrix", ops.erf, normal(3, 4))],
    # the fused gradient rules (what tanh/sigmoid/relu/div hand back in a backward pass)
    "tanh_grad": [Case("same", ops.tanh_grad, normal(3, 4), 0.9 * np.tanh(normal(3, 4))),
                  Case("(3,1),(1,4)", ops.tanh_grad, normal(3, 1), np.tanh(normal(1, 4)))],
    "sigmoid_grad": [Case("same", ops.sigmoid_grad, normal(3, 4), _rng().uniform(0.05, 0.95, (3, 4))),
                     Case("(4,),(2,4)", ops.sigmoid_grad, normal(4), _rng().uniform(0.05, 0.95, (2, 4)))],
    "relu_grad": [Case("mask from an array", lambda g: ops.relu_grad(g, RELU_AT), normal(3, 4)),
                  Case("mask from a tensor (derivative 0)", ops.relu_grad, normal(3, 4), away(3, 4))],
    "div_grad_b": [Case("same", ops.div_grad_b, normal(3, 4), normal(3, 4), away(3, 4)),
                   Case("divisor (4,)", ops.div_grad_b, normal(2, 4), normal(2, 4), away(4))],
    "maximum": [Case("same", ops.maximum, grid(3, 4), grid(3, 4, offset=0.25)),
                Case("(3,1),(1,4)", ops.maximum, grid(3, 1), grid(1, 4, offset=0.25)),
                Case("scalar,matrix", ops.maximum, np.array(0.1), grid(3, 4, offset=0.25)),
                Case("(2,3,4),(4,)", ops.maximum, grid(2, 3, 4), grid(4, offset=0.25))],
    "minimum": [Case("same", ops.minimum, grid(3, 4), grid(3, 4, offset=0.25)),
                Case("(3,1),(1,4)", ops.minimum, grid(3, 1), grid(1, 4, offset=0.25)),
                Case("matrix,scalar", ops.minimum, grid(3, 4, offset=0.25), np.array(0.1))],
    "clip": [Case("both bounds", lambda a: ops.clip(a, -0.5, 0.5), _rng().permutation(np.linspace(-0.95, 0.95, 12))),
             Case("lo only", lambda a: ops.clip(a, lo=0.0), away(3, 4)),
             Case("hi only", lambda a: ops.clip(a, hi=0.0), away(3, 4))],
    "where": [Case("same", lambda a, b: ops.where(MASK34, a, b), normal(3, 4), normal(3, 4)),
              Case("cond(3,1) a(1,4) b()", lambda a, b: ops.where(np.array([[True], [False], [True]]), a, b),
                   normal(1, 4), normal()),
              Case("cond from comparison", lambda a: ops.where(a > 0, a, a * 0.1), away(3, 4))],
    "sum": [Case(f"axis={ax},keepdims={kd}", (lambda ax, kd: lambda a: ops.sum(a, axis=ax, keepdims=kd))(ax, kd),
                 normal(2, 3, 4))
            for ax in (0, 1, 2, -1, (0, 2), None) for kd in (False, True)]
           + [Case("0-d", ops.sum, normal()), Case("1-d", ops.sum, normal(5))],
    "mean": [Case(f"axis={ax},keepdims={kd}", (lambda ax, kd: lambda a: ops.mean(a, axis=ax, keepdims=kd))(ax, kd),
                  normal(2, 3, 4))
             for ax in (0, 1, 2, (1, 2), None) for kd in (False, True)],
    "max": [Case(f"axis={ax},keepdims={kd}", (lambda ax, kd: lambda a: ops.max(a, axis=ax, keepdims=kd))(ax, kd),
                 distinct(2, 3, 4))
            for ax in (0, 1, 2, (0, 2), None) for kd in (False, True)],
    "min": [Case(f"axis={ax},keepdims={kd}", (lambda ax, kd: lambda a: ops.min(a, axis=ax, keepdims=kd))(ax, kd),
                 distinct(2, 3, 4))
            for ax in (0, 1, -1, (1, 2), None) for kd in (False, True)],
    "logsumexp": [Case(f"axis={ax},keepdims={kd}",
                       (lambda ax, kd: lambda a: ops.logsumexp(a, axis=ax, keepdims=kd))(ax, kd), normal(2, 3, 4))
                  for ax in (0, 1, 2, (0, 2), None) for kd in (False, True)]
                 + [Case("magnitude 1e4", lambda a: ops.logsumexp(a, axis=-1), 1e4 + normal(3, 4))],
    "log_softmax": [Case(f"axis={ax}", (lambda ax: lambda a: ops.log_softmax(a, axis=ax))(ax), 2 * normal(3, 4))
                    for ax in (0, 1, -1)]
                   + [Case("3-d axis=1", lambda a: ops.log_softmax(a, axis=1), normal(2, 3, 4)),
                      Case("magnitude 1e4", ops.log_softmax, 1e4 * np.array([[1.0, 0.9999, -1.0], [0.5, 0.5, 0.4999]]))],
    "softmax": [Case(f"axis={ax}", (lambda ax: lambda a: ops.softmax(a, axis=ax))(ax), 2 * normal(3, 4))
                for ax in (0, 1, -1)]
               + [Case("3-d axis=1", lambda a: ops.softmax(a, axis=1), normal(2, 3, 4)),
                  Case("1-d", ops.softmax, normal(5)),
                  Case("magnitude 1e4", ops.softmax, 1e4 * np.array([[1.0, 0.9999, -1.0], [0.5, 0.5, 0.4999]]))],
    "matmul": [Case("1-D @ 1-D", ops.matmul, normal(4), normal(4)),
               Case("1-D @ 2-D", ops.matmul, normal(3), normal(3, 4)),
               Case("2-D @ 1-D", ops.matmul, normal(3, 4), normal(4)),
               Case("2-D @ 2-D", ops.matmul, normal(3, 4), normal(4, 2)),
               Case("(2,3,4) @ (4,5)", ops.matmul, normal(2, 3, 4), normal(4, 5)),
               Case("(3,4) @ (2,4,2)", ops.matmul, normal(3, 4), normal(2, 4, 2)),
               Case("(2,1,3,4) @ (3,4,2) broadcast batch", ops.matmul, normal(2, 1, 3, 4), normal(3, 4, 2)),
               Case("1-D @ 3-D", ops.matmul, normal(3), normal(2, 3, 2)),
               Case("3-D @ 1-D", ops.matmul, normal(2, 2, 3), normal(3)),
               Case("x @ x.T", lambda a: a @ a.T, normal(3, 2))],
    "reshape": [Case("(3,4)->(2,6)", lambda a: ops.reshape(a, (2, 6)), normal(3, 4)),
                Case("(2,3,4)->(4,-1)", lambda a: a.reshape(4, -1), normal(2, 3, 4)),
                Case("0-d->(1,1)", lambda a: a.reshape(1, 1), normal()),
                Case("flatten", lambda a: a.flatten(), normal(2, 3)),
                Case("squeeze/unsqueeze", lambda a: a.squeeze(1).unsqueeze(0) * W13, normal(3, 1))],
    "permute": [Case("(2,0,1)", lambda a: a.permute(2, 0, 1), normal(2, 3, 4)),
                Case(".T", lambda a: a.T, normal(3, 4)),
                Case("transpose(0,2)", lambda a: ops.transpose(a, 0, 2), normal(2, 3, 4)),
                Case("swapaxes(-1,-2)", lambda a: ops.swapaxes(a, -1, -2), normal(2, 3, 4))],
    "expand": [Case("(3,1)->(2,3,4)", lambda a: ops.expand(a, (2, 3, 4)), normal(3, 1)),
               Case("()->(3,2)", lambda a: ops.expand(a, 3, 2), normal()),
               Case("(4,)->(2,3,4) broadcast_to", lambda a: ops.broadcast_to(a, (2, 3, 4)), normal(4))],
    "getitem": [Case("slices", lambda a: a[1:, ::2], normal(3, 4)),
                Case("negative step", lambda a: a[::-1, 1:3], normal(3, 4)),
                Case("int", lambda a: a[1], normal(3, 4)),
                Case("int,int", lambda a: a[2, -1], normal(3, 4)),
                Case("None and ellipsis", lambda a: a[None, ..., 1], normal(2, 3, 4)),
                Case("int array with repeats", lambda a: a[np.array([0, 2, 0, 0])], normal(3, 4)),
                Case("list index with repeats", lambda a: a[:, [3, 3, 1]], normal(3, 4)),
                Case("two int arrays", lambda a: a[np.array([0, 2, 2]), np.array([1, 1, 1])], normal(3, 4)),
                Case("boolean mask", lambda a: a[MASK34], normal(3, 4)),
                Case("mask from comparison", lambda a: a[a > 0], away(3, 4)),
                Case("Tensor index", lambda a: a[Tensor([2.0, 0.0, 2.0])], normal(3, 4))],
    "scatter_add": [Case("repeated rows", lambda g: ops.scatter_add(g, (3, 2), np.array([0, 2, 0, 0])), normal(4, 2)),
                    Case("basic slice", lambda g: ops.scatter_add(g, (4,), slice(1, 3)), normal(2))],
    "concatenate": [Case("axis=0", lambda a, b, c: ops.concatenate([a, b, c]), normal(2, 3), normal(1, 3), normal(4, 3)),
                    Case("axis=1", lambda a, b: ops.concatenate([a, b], axis=1), normal(2, 3), normal(2, 1)),
                    Case("axis=-1 3-d", lambda a, b: ops.concatenate((a, b), axis=-1), normal(2, 2, 3), normal(2, 2, 2))],
    "stack": [Case(f"axis={ax}", (lambda ax: lambda a, b, c: ops.stack([a, b, c], axis=ax))(ax),
                   normal(2, 3), normal(2, 3), normal(2, 3)) for ax in (0, 1, -1)],
    # A float32 round trip loses digits, so a linear function and a large eps keep the differences exact.
    "astype": [Case("to float32", lambda a: ops.astype(a, F32) * 3.0, normal(3, 4), eps=1e-2, atol=1e-4),
               Case("float32 and back", lambda a: a.astype(F32).astype(np.float64), normal(4), eps=1e-2, atol=1e-4)],
}

ALL_CASES = [pytest.param(op, case, id=f"{op}[{case.label}]") for op, cases in CASES.items() for case in cases]
SECOND_ORDER_CASES = [p for p in ALL_CASES if p.values[1].second]


def test_every_op_has_cases():
    assert set(CASES) == set(ops.OPS), (
        f"ops without gradient cases: {sorted(set(ops.OPS) - set(CASES))}; "
        f"cases for unknown ops: {sorted(set(CASES) - set(ops.OPS))}")
    assert all(any(case.second for case in cases) for cases in CASES.values()), "an op lacks a second-order case"


@pytest.mark.parametrize("op, case", ALL_CASES)
def test_case_records_its_op(op, case):
    leaves = [Tensor(x, requires_grad=True) for x in case.inputs]
    out = case.fn(*leaves)
    assert op in {node.op for node in topological_order(out)}, f"case {case} never runs {op}"


@pytest.mark.parametrize("op, case", ALL_CASES)
def test_gradcheck(op, case):
    res = tg.gradcheck(case.fn, *case.inputs, **case.tol)
    assert res, str(res)


@pytest.mark.parametrize("op, case", SECOND_ORDER_CASES)
def test_gradgradcheck(op, case):
    """The VJP of every op is itself differentiated correctly (create_graph=True)."""
    res = tg.gradgradcheck(case.fn, *case.inputs, **case.tol)
    assert res, str(res)


@pytest.mark.parametrize("op, case", ALL_CASES)
def test_float32_graph_stays_float32_in_backward(op, case):
    """No VJP silently promotes a float32 graph to float64 (which would double its cost)."""
    leaves = [Tensor(x.astype(np.float32), requires_grad=True) for x in case.inputs]
    out = case.fn(*leaves)
    if out.dtype != np.float32:
        # only cases that mix in a float64 constant or cast to float64 on purpose
        assert case.label in {"reflected ndarray", "squeeze/unsqueeze", "float32 and back"}, case.label
        return
    seen = []

    def observer(event, tensor, payload):
        if event == "contribution" and payload[0] is not None:
            seen.append((payload[0].op, tensor.dtype, payload[1].dtype))

    out.backward(Tensor._wrap(np.ones(out.shape, np.float32)), observer=observer)
    assert seen and all(want == got for _, want, got in seen), seen


# --- forward values against independent references ----------------------------------------

X = np.linspace(-3, 3, 13)
UNARY_REFERENCES = [
    (ops.neg, lambda x: -x, X),
    (ops.exp, np.exp, X),
    (ops.log, np.log, X + 3.5),
    (ops.log1p, lambda x: np.array([math.log1p(v) for v in x]), X / 4),
    (ops.sqrt, lambda x: np.array([math.sqrt(v) for v in x]), X + 3),
    (ops.abs, lambda x: np.array([abs(v) for v in x]), X),
    (ops.tanh, lambda x: np.array([math.tanh(v) for v in x]), X),
    (ops.sigmoid, lambda x: np.array([1 / (1 + math.exp(-v)) for v in x]), X),
    (ops.relu, lambda x: np.array([v if v > 0 else 0.0 for v in x]), X),
    (ops.erf, lambda x: np.array([math.erf(v) for v in x]), X),
    (lambda t: ops.clip(t, -1, 2), lambda x: np.array([min(max(v, -1), 2) for v in x]), X),
    (ops.square, lambda x: x * x, X),
]


@pytest.mark.parametrize("fn, ref, x", UNARY_REFERENCES, ids=lambda v: getattr(v, "__name__", ""))
def test_unary_forward_values(fn, ref, x):
    out = fn(Tensor(x))
    assert out.dtype == np.float64 and out.shape == x.shape
    np.testing.assert_allclose(out.data, ref(x), rtol=1e-12, atol=1e-15)


def test_binary_and_reduction_forward_values(rng):
    a, b = rng.standard_normal((3, 1)), rng.uniform(0.5, 2, (1, 4))
    A, B = Tensor(a), Tensor(b)
    np.testing.assert_allclose((A + B).data, a + b)
    np.testing.assert_allclose((A - B).data, a - b)
    np.testing.assert_allclose((A * B).data, a * b)
    np.testing.assert_allclose((A / B).data, a / b)
    np.testing.assert_allclose((B ** A).data, b ** a)
    np.testing.assert_allclose(ops.maximum(A, B).data, np.maximum(a, b))
    np.testing.assert_allclose(ops.minimum(A, B).data, np.minimum(a, b))
    x = rng.standard_normal((2, 3, 4))
    X_ = Tensor(x)
    for ax in (0, 1, 2, (0, 2), None):
        np.testing.assert_allclose(X_.sum(axis=ax).data, x.sum(axis=ax))
        np.testing.assert_allclose(X_.mean(axis=ax, keepdims=True).data, x.mean(axis=ax, keepdims=True))
        np.testing.assert_allclose(X_.max(axis=ax).data, x.max(axis=ax))
        np.testing.assert_allclose(X_.min(axis=ax).data, x.min(axis=ax))
        np.testing.assert_allclose(ops.logsumexp(X_, axis=ax).data, np.log(np.exp(x).sum(axis=ax)))
    e = np.exp(x)
    np.testing.assert_allclose(ops.softmax(X_, axis=1).data, e / e.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(ops.log_softmax(X_).data, np.log(e / e.sum(axis=-1, keepdims=True)))
    m = rng.standard_normal((2, 1, 3, 4))
    k = rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose((Tensor(m) @ Tensor(k)).data, np.einsum("abij,bjk->abik", m, k))


# --- stability and edge cases ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_stable_at_1e4(dtype):
    x = np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4 - 2.0]], dtype=dtype)
    t = Tensor(x, requires_grad=True)
    # Independent reference: the shift by the row maximum written out by hand.
    z = np.array([[0.0, -1.0, -2e4], [0.0, 0.0, -2.0]])
    lse_shift = np.log(np.exp(z).sum(axis=1))
    expected_lse = np.array([1e4, -1e4]) + lse_shift
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        lse = ops.logsumexp(t, axis=1)
        ls = ops.log_softmax(t)
        sm = ops.softmax(t)
    tol = dict(rtol=1e-6) if dtype == np.float32 else dict(rtol=1e-12)
    np.testing.assert_allclose(lse.data, expected_lse, **tol)
    np.testing.assert_allclose(ls.data, z - lse_shift[:, None], atol=1e-3 if dtype == np.float32 else 1e-9)
    np.testing.assert_allclose(sm.data, np.exp(z - lse_shift[:, None]), atol=1e-6)
    for out in (lse, ls, sm):
        assert np.all(np.isfinite(out.data)) and out.dtype == dtype
        w = np.arange(out.size, dtype=dtype).reshape(out.shape) + 1
        (g,) = tg.grad(out, t, grad_outputs=w)
        assert np.all(np.isfinite(g.data))
    (g,) = tg.grad(ops.logsumexp(t, axis=1).sum(), t)
    np.testing.assert_allclose(g.data, np.exp(z - lse_shift[:, None]), atol=1e-6)


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    with np.errstate(divide="ignore"):
        out = ops.logsumexp(Tensor([-np.inf, -np.inf]))
    assert out.item() == -np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_huge_inputs_no_overflow(dtype):
    x = Tensor(np.array([-1e4, -800.0, 0.0, 800.0, 1e4], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = ops.sigmoid(x)
        y.sum().backward()
    np.testing.assert_array_equal(y.data, np.array([0.0, 0.0, 0.5, 1.0, 1.0], dtype=dtype))
    np.testing.assert_array_equal(x.grad.data, np.array([0.0, 0.0, 0.25, 0.0, 0.0], dtype=dtype))
    assert y.dtype == dtype and x.grad.dtype == dtype


def test_max_min_ties_split_the_gradient_evenly():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.data, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = Tensor([5.0, 1.0, 1.0], requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad.data, [0, 0.5, 0.5])
    # elementwise maximum/minimum: a tie gives each side half
    a, b = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([1.0, 5.0, 0.0], requires_grad=True)
    ops.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 0, 1])
    np.testing.assert_allclose(b.grad.data, [0.5, 1, 0])
    a.zero_grad(), b.zero_grad()
    ops.minimum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 1, 0])
    np.testing.assert_allclose(b.grad.data, [0.5, 0, 1])


def test_relu_abs_clip_at_their_kinks():
    x = Tensor([-1.0, 0.0, 1.0], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1])
    x.zero_grad()
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1, 0, 1])
    # clip passes the gradient on the closed interval [lo, hi], including the bounds themselves
    c = Tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    out = ops.clip(c, -1.0, 1.0)
    np.testing.assert_array_equal(out.data, [-1, -1, 0, 1, 1])
    out.sum().backward()
    np.testing.assert_array_equal(c.grad.data, [0, 1, 1, 1, 0])


def test_pow_at_base_zero():
    x = Tensor([0.0, 0.0, 0.0, 2.0], requires_grad=True)
    e = Tensor([2.0, 1.0, 0.0, 0.0], requires_grad=True)
    with np.errstate(divide="raise", invalid="raise"):
        y = x ** e
        y.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 1.0, 1.0])
    # d/dx x^e = e x^(e-1): 0 for e=2, 1 for e=1, 0 for e=0 (0^0 is the constant 1)
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0, 0.0])
    # d/de x^e = x^e log x -> 0 as x -> 0+ for e > 0
    np.testing.assert_allclose(e.grad.data, [0.0, 0.0, 0.0, math.log(2.0)])
    z = Tensor([0.0, 3.0], requires_grad=True)
    (z ** 2).sum().backward()
    np.testing.assert_array_equal(z.grad.data, [0.0, 6.0])


def test_getitem_scatter_adds_repeated_indices():
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[3] * 4, [0] * 4, [1] * 4])
    x.zero_grad()
    x[Tensor([1.0, 1.0]), Tensor([3.0, 3.0])].sum().backward()
    expected = np.zeros((3, 4))
    expected[1, 3] = 2
    np.testing.assert_array_equal(x.grad.data, expected)
    x.zero_grad()
    x[x > 6.5].sum().backward()
    np.testing.assert_array_equal(x.grad.data, (np.arange(12).reshape(3, 4) > 6.5).astype(float))


def test_getitem_with_tensor_indices():
    x = Tensor(np.arange(6.0))
    np.testing.assert_array_equal(x[Tensor([5.0, 0.0])].data, [5, 0])
    np.testing.assert_array_equal(x[x >= 4].data, [4, 5])
    with pytest.raises(IndexError, match="whole numbers"):
        x[Tensor([0.5])]
    with pytest.raises(IndexError, match=r"getitem: .*shape \(6,\)"):
        x[7]


def test_argmax_argmin_are_integer_indices_without_gradient():
    x = np.array([[1.0, 3.0, -2.0], [4.0, 2.0, 9.0]])
    t = Tensor(x, requires_grad=True)
    for name, ref in (("argmax", np.argmax), ("argmin", np.argmin)):
        for axis in (None, 0, 1, -1):
            out = getattr(t, name)(axis)
            np.testing.assert_array_equal(out.numpy(), ref(x, axis=axis))
            assert not out.requires_grad and out.dtype.kind == "i"
        assert getattr(tg, name)(t, axis=1, keepdims=True).shape == (2, 1)
    acc = (Tensor([[0.1, 0.9], [0.8, 0.2]]).argmax(-1) == Tensor([1, 1])).mean().item()
    assert acc == 0.5  # the PyTorch-loop accuracy idiom
    with pytest.raises(ValueError, match="argmax: axis 2 is out of range"):
        t.argmax(2)
    with pytest.raises(TypeError, match="argmin: axis must be an int"):
        t.argmin((0, 1))
    with pytest.raises(ValueError, match=r"argmax: a tensor of shape \(0, 2\) has no elements along axis 0"):
        Tensor(np.zeros((0, 2))).argmax(0)
    assert Tensor(np.zeros((0, 2))).argmax(1).shape == (0,)


def test_comparisons_carry_no_gradient():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (a < 2, a <= 2, a > 2, a >= 2, a == 2, a != 2, 2 < a, np.array([0, 2, 5]) < a):
        assert r.dtype == np.bool_ and not r.requires_grad and r.op is None and r.parents == ()
    np.testing.assert_array_equal((a < 2).data, [True, False, False])
    np.testing.assert_array_equal((np.array([0, 2, 5]) < a).data, [True, False, False])
    np.testing.assert_array_equal((a == np.array([1, 0, 3])).data, [True, False, True])


def test_empty_and_zero_dim_tensors():
    e = Tensor(np.zeros((0, 3)), requires_grad=True)
    s = e.sum()
    assert s.item() == 0.0
    s.backward()
    assert e.grad.shape == (0, 3)
    assert ops.max(e, axis=1).shape == (0,)  # reducing the non-empty axis is fine
    for fn in (lambda: e.max(), lambda: e.mean(axis=0), lambda: ops.logsumexp(e, axis=0),
               lambda: ops.softmax(e, axis=0), lambda: ops.log_softmax(e, axis=0), lambda: e.min()):
        with pytest.raises(ValueError, match="empty axis"):
            fn()
    z = Tensor(2.0, requires_grad=True)
    y = (z * z).exp().sum(axis=None)
    y.backward()
    assert y.shape == () and z.grad.shape == ()
    np.testing.assert_allclose(z.grad.item(), 4 * math.exp(4), rtol=1e-6)


ZERO_DIM_AND_EMPTY = {
    "0-d softmax (axis -1)": (ops.softmax, np.array(0.7)),
    "0-d log_softmax": (ops.log_softmax, np.array(0.7)),
    "0-d logsumexp": (ops.logsumexp, np.array(0.7)),
    "0-d sum axis=-1": (lambda a: ops.sum(a, axis=-1) * 3, np.array(0.7)),
    "0-d max axis=0": (lambda a: ops.max(a, axis=0) * 3, np.array(0.7)),
    "0-d .T and None": (lambda a: a.T * a[None], np.array(0.7)),
    "0-d stack": (lambda a: ops.stack([a, a * 2]), np.array(0.7)),
    "empty matmul": (ops.matmul, np.zeros((0, 3)), np.ones((3, 2))),
    "empty broadcast mul": (ops.mul, np.zeros((0, 3)), np.ones(3)),
    "empty index": (lambda a: a[np.array([], dtype=int)], np.ones(3)),
    "empty concatenate part": (lambda a, b: ops.concatenate([a, b]), np.zeros((0, 2)), np.ones((2, 2))),
    "softmax of zero rows": (ops.softmax, np.zeros((0, 3))),
    "mean over non-empty axis": (lambda a: ops.mean(a, axis=1), np.zeros((0, 3))),
    "reduction over axis=()": (lambda a: ops.logsumexp(a, axis=()) + ops.max(a, axis=()), np.ones(3)),
}


@pytest.mark.parametrize("name", ZERO_DIM_AND_EMPTY)
def test_zero_dim_and_empty_gradients(name):
    fn, *xs = ZERO_DIM_AND_EMPTY[name]
    res = tg.gradcheck(fn, *xs)
    assert res, str(res)
    assert tg.gradgradcheck(fn, *xs)


def test_axis_argument_validation():
    t = tg.zeros(2, 3)
    with pytest.raises(TypeError, match="sum: axis must be an int"):
        t.sum(axis=1.0)
    with pytest.raises(TypeError, match="mean: axis must be an int"):
        t.mean(axis=True)
    with pytest.raises(ValueError, match="axis -3 is out of range"):
        t.max(axis=-3)
    with pytest.raises(ValueError, match="axis 1 is out of range for a tensor with 0"):
        Tensor(1.0).sum(axis=1)
    assert t.sum(axis=[0, 1]).shape == ()


def test_float32_float64_mixing():
    a32 = Tensor([1.0, 2.0], requires_grad=True)
    b64 = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = a32 * b64
    assert y.dtype == np.float64
    y.sum().backward()
    assert a32.grad.dtype == np.float32 and b64.grad.dtype == np.float64
    np.testing.assert_array_equal(a32.grad.data, [3, 4])
    ga, gb = tg.grad((a32 * b64).sum(), [a32, b64])
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    # Python scalars adopt the tensor's dtype instead of promoting it
    assert (a32 * 2.5).dtype == np.float32 and (np.float64(2.0) * a32).dtype == np.float32
    for op in (ops.maximum, ops.minimum):
        op(a32, 1.5).sum().backward()
    assert a32.grad.dtype == np.float32


# --- shape errors: ValueError naming the op and both shapes, raised before NumPy ------------

SHAPE_ERRORS = [
    (lambda: ops.add(tg.zeros(3), tg.zeros(4)), ["add", "(3,)", "(4,)"]),
    (lambda: tg.zeros(2, 3) - tg.zeros(3, 2), ["sub", "(2, 3)", "(3, 2)"]),
    (lambda: tg.zeros(2, 3) * np.zeros(4), ["mul", "(2, 3)", "(4,)"]),
    (lambda: np.zeros(4) / tg.zeros(2, 3), ["div", "(4,)", "(2, 3)"]),
    (lambda: tg.zeros(3) ** tg.zeros(2), ["pow", "(3,)", "(2,)"]),
    (lambda: ops.maximum(tg.zeros(3), tg.zeros(2)), ["maximum", "(3,)", "(2,)"]),
    (lambda: ops.minimum(tg.zeros(3), tg.zeros(2)), ["minimum", "(3,)", "(2,)"]),
    (lambda: ops.where(np.ones(3, bool), tg.zeros(2), 0.0), ["where", "(3,)", "(2,)"]),
    (lambda: tg.zeros(3, 2) @ tg.zeros(3, 1), ["matmul", "(3, 2)", "(3, 1)", "align"]),
    (lambda: tg.zeros(3) @ tg.zeros(4), ["matmul", "(3,)", "(4,)"]),
    (lambda: tg.zeros(2, 3, 4) @ tg.zeros(5, 4, 2), ["matmul", "(2, 3, 4)", "(5, 4, 2)"]),
    (lambda: tg.zeros(3) @ tg.zeros(()), ["matmul", "(3,)", "()"]),
    (lambda: tg.zeros(3) < tg.zeros(2), ["lt", "(3,)", "(2,)"]),
    (lambda: tg.zeros(2, 3).reshape(4, 2), ["reshape", "(2, 3)", "(4, 2)"]),
    (lambda: ops.expand(tg.zeros(2, 3), (4, 3)), ["expand", "(2, 3)", "(4, 3)"]),
    (lambda: ops.concatenate([tg.zeros(2, 3), tg.zeros(2, 4)]), ["concatenate", "(2, 3)", "(2, 4)"]),
    (lambda: ops.stack([tg.zeros(2, 3), tg.zeros(3, 2)]), ["stack", "(2, 3)", "(3, 2)"]),
    (lambda: tg.zeros(2, 3).permute(0, 0), ["permute", "(2, 3)"]),
    (lambda: tg.zeros(2, 3).sum(axis=2), ["sum", "axis 2"]),
    (lambda: tg.zeros(2, 3).max(axis=(0, 0)), ["max", "repeated axis"]),
    (lambda: ops.softmax(tg.zeros(2, 3), axis=-3), ["softmax", "axis -3"]),
    (lambda: tg.zeros(2, 3).squeeze(0), ["squeeze", "(2, 3)"]),
    (lambda: ops.clip(tg.zeros(2), 1.0, 0.0), ["clip", "lo=1.0", "hi=0.0"]),
]


@pytest.mark.parametrize("fn, words", SHAPE_ERRORS, ids=lambda v: v[0] if isinstance(v, list) else "")
def test_shape_errors_name_op_and_shapes(fn, words):
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value)
    assert msg.startswith(words[0] + ":"), msg
    for w in words[1:]:
        assert w in msg, f"{w!r} missing from {msg!r}"
    # raised at the op boundary: no NumPy frame in the traceback and no chained NumPy error shown
    frames = traceback.extract_tb(info.tb)
    assert not any("/numpy/" in f.filename for f in frames), [f.filename for f in frames]
    assert info.value.__cause__ is None and (info.value.__context__ is None or info.value.__suppress_context__)


# --- gradcheck itself --------------------------------------------------------------------------

def test_gradcheck_reports_worst_element_of_a_wrong_vjp(monkeypatch):
    x = np.random.default_rng(5).standard_normal((3, 4))
    assert tg.gradcheck(ops.exp, x)
    bump = np.zeros((3, 4))
    bump[1, 2] = 0.3
    # exp's VJP is g * exp(a); break it at one element only (in its raw rule: the first-order pass runs it)
    monkeypatch.setattr(ops.OPS["exp"], "raw", (lambda g, o, a: g * o.data + bump,))
    res = tg.gradcheck(lambda a, b: ops.exp(a) * b, x, np.ones((3, 4)))
    assert not res
    assert res.worst_input == 0 and res.worst_index == (1, 2)
    assert res.max_abs_error[0] > 0.25 and res.max_abs_error[1] < 1e-6
    assert res.analytic - res.numeric == pytest.approx(0.3, rel=1e-6)
    text = str(res)
    assert "FAILED" in text and "input 0" in text and "(1, 2)" in text
    with pytest.raises(AssertionError, match="FAILED"):
        tg.gradcheck(lambda a: ops.exp(a), x, raise_exception=True)


def test_gradcheck_catches_a_wrong_vjp_of_every_kind(monkeypatch):
    # a classic bug: sigmoid's VJP using s(1+s) instead of s(1-s)
    monkeypatch.setattr(ops.OPS["sigmoid"], "raw", (lambda g, o, a: g * (o.data * (1 + o.data)),))
    assert not tg.gradcheck(ops.sigmoid, np.linspace(-2, 2, 5))
    # a missing unbroadcast is caught by the engine with a clear error
    monkeypatch.setattr(ops.OPS["add"], "raw", (lambda g, o, a, b: g, lambda g, o, a, b: g))
    with pytest.raises(RuntimeError, match=r"VJP of 'add' returned a gradient of shape \(3, 4\) for its input 1"):
        tg.gradcheck(ops.add, np.ones((3, 4)), np.ones(4))


def test_gradgradcheck_catches_a_vjp_that_is_not_differentiable(monkeypatch):
    # tanh's VJP computed through raw NumPy: first derivatives right, second derivatives lost
    monkeypatch.setattr(ops.OPS["tanh"], "vjps",
                        (lambda g, o, a: ops.mul(g, Tensor._wrap(1 - np.tanh(a.data) ** 2)),))
    x = np.linspace(-1, 1, 4)
    assert tg.gradcheck(ops.tanh, x)
    res = tg.gradgradcheck(ops.tanh, x)
    assert not res and "FAILED" in str(res)


def test_gradcheck_result_fields_when_passing():
    res = tg.gradcheck(lambda a, b: (a * b).sum(), np.array([1.0, 2.0]), np.array([3.0, -1.0]))
    assert res and res.ok and len(res.max_abs_error) == 2 and max(res.max_abs_error) < 1e-8
    np.testing.assert_allclose(res.analytic_grads[0], [3.0, -1.0])
    np.testing.assert_allclose(res.numeric_grads[1], [1.0, 2.0], atol=1e-8)
    assert "passed" in str(res)
    with pytest.raises(TypeError, match="must return a Tensor"):
        tg.gradcheck(lambda a: a.data, np.ones(2))
    with pytest.raises(TypeError, match="gradcheck: fn must be callable, got int"):
        tg.gradcheck(3, np.ones(2))
    for eps in (0.0, -1e-6, float("nan")):  # eps=0 divides by zero; a negative step is a user slip
        with pytest.raises(ValueError, match="gradcheck: eps must be a finite number > 0"):
            tg.gradcheck(lambda a: a.sum(), np.ones(2), eps=eps)
    with pytest.raises(TypeError, match="gradgradcheck: fn must be callable"):
        tg.gradgradcheck(None, np.ones(2))


def test_astype_names_a_bad_dtype():
    with pytest.raises(TypeError, match="astype: dtype must be a dtype such as np.float32, got 'foo'"):
        Tensor([1.0]).astype("foo")
    with pytest.raises(TypeError, match="astype: dtype must be a float dtype"):
        Tensor([1.0]).astype("int32")


def test_clip_bounds_must_be_numbers():
    x = Tensor([0.5, 2.0])
    with pytest.raises(TypeError, match="clip: lo must be a number or None, got Tensor"):
        tg.clip(x, Tensor(0.0), 1.0)
    with pytest.raises(TypeError, match="clip: hi must be a number or None, got \\[1.0\\] of type list"):
        tg.clip(x, None, [1.0])
    np.testing.assert_array_equal(tg.clip(x, np.float32(0), 1).numpy(), [0.5, 1.0])


# --- the registry: one entry is the whole op ------------------------------------------------

def _all_tensors(out):
    """Every tensor of the graph of ``out`` (leaves and constants too), parents before children."""
    seen, order, stack = set(), [], [(out, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        stack.extend((p, False) for p in reversed(t.parents))
    return order


@pytest.mark.parametrize("op, case", ALL_CASES)
def test_gradcheck_badges_replay_every_case(op, case):
    """The diagnostics re-run a recorded graph with each op's registry entry (forward + saved values):
    the replay must give the recorded output (gradcheck_badges refuses otherwise) and a right gradient."""
    from tinygrad_loss.viz import diagnostics

    leaves = [Tensor(x, requires_grad=True) for x in case.inputs]
    out = case.fn(*leaves)
    badges = diagnostics.gradcheck_badges(out, _all_tensors(out))
    assert set(badges) == {id(t) for t in leaves if any(t is n for n in _all_tensors(out))}
    if not case.tol:  # cases with their own tolerance need it for finite differences too
        assert all(b.ok for b in badges.values()), badges


def test_a_new_op_is_one_entry_and_shows_up_everywhere():
    from tinygrad_loss import _opkit
    from tinygrad_loss.viz import diagnostics

    # d a³ = 3a² da
    cube = ops.defop("cube", lambda x: x * x * x, lambda g, o, a: ops.mul(g, ops.mul(ops.mul(a, a), 3.0)),
                     method=True)
    try:
        assert ops.cube is cube and tg.cube is cube and "cube" in ops.__all__ and ops.OPS["cube"].function is cube
        x = Tensor([1.0, -2.0], requires_grad=True)
        y = x.cube()
        assert y.op == "cube" and y.data.tolist() == [1.0, -8.0] and y._op is ops.OPS["cube"]
        assert tg.gradcheck(cube, np.array([0.5, -1.5])) and tg.gradgradcheck(cube, np.array([0.5, -1.5]))
        # the coverage check of this file names it until it gets a case
        assert set(ops.OPS) - set(CASES) == {"cube"}
        # the diagnostics replay it without being told how
        out = (y * 2.0).sum()
        assert diagnostics.gradcheck_badges(out, _all_tensors(out))[id(x)].ok
        with pytest.raises(TypeError, match="cube: operand None of type NoneType is not numeric"):
            cube(None)
    finally:
        _opkit.unregister("cube")
    assert "cube" not in ops.OPS and "cube" not in ops.__all__
    assert not hasattr(ops, "cube") and not hasattr(tg, "cube") and not hasattr(Tensor, "cube")


def test_an_op_cannot_be_defined_twice():
    with pytest.raises(RuntimeError, match="'exp' defined twice"):
        ops.defop("exp", np.exp, lambda g, o, a: g)
    assert ops.OPS["exp"].function is ops.exp


_ELEMENTWISE = sorted(n for n, op in ops.OPS.items() if not op.saves and n != "matmul")


@pytest.mark.parametrize("name", _ELEMENTWISE)
def test_derived_functions_name_their_op_in_errors(name):
    fn = ops.OPS[name].function
    args = (None,) * len(ops.OPS[name].vjps)
    with pytest.raises(TypeError, match=f"^{name}: operand None of type NoneType is not numeric$"):
        fn(*args)


def test_public_api_is_derived_from_the_registry():
    assert set(ops.OPS) <= set(ops.__all__)
    for name in ops.__all__:
        assert getattr(tg, name) is getattr(ops, name), name
    for name, op in ops.OPS.items():
        assert op.function.__name__ == name and getattr(ops, name) is op.function
        if op.method:
            assert getattr(Tensor, name) is op.function
    x = Tensor([1.0, 2.0])
    assert (x + 1.0).op == "add" and (1.0 - x).op == "sub" and (-x).op == "neg" and abs(x).op == "abs"
    assert (x @ x).op == "matmul" and x[0].op == "getitem" and (2.0 ** x).op == "pow"


def test_saved_values_are_named():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    s = a.sum(axis=-1, keepdims=True)
    assert s.saved == {"axes": (1,), "keepdims": True}
    assert ops.clip(a, 0.0, 1.0).saved == {"lo": 0.0, "hi": 1.0}
    assert ops.softmax(a, axis=0).saved == {"axes": (0,)}
    assert (a * 2.0).saved is None
    s.sum().backward()
    with pytest.raises(tg.GraphReleasedError, match="'sum'.*retain_graph=True"):
        s.saved
