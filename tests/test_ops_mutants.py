"""Tests for ``ops.py`` written against the mutants a full mutmut run left alive (issue 19).

Each test names the mutants it kills (``mutmut show NAME`` prints the change) and was seen to fail
with each of them planted. Mutants of the factories that run only at import (``_compare``,
``_arg_extreme``, ``defop``) cannot be switched on by mutmut; they were planted one at a time by
``tools/plant_mutants.py``. Expected values come from NumPy formulas or from float64 central
differences (``tinygrad_loss.gradcheck``), never from the code under test.
"""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import Tensor, ops
from tinygrad_loss.autograd import topological_order


# --- argmax / argmin (the _arg_extreme factory: planted by hand) --------------------------------

X23 = np.array([[1.0, 3.0, -2.0], [4.0, 2.0, 9.0]])


@pytest.mark.parametrize("name, ref", [("argmax", np.argmax), ("argmin", np.argmin)])
def test_arg_extremes_take_pytorchs_dim_and_keepdim_alone_or_together(name, ref):
    """``_arg_extreme`` mutants 1-3, 8-14: ``dim=`` or ``keepdim=`` ignored when given without the other
    (``and`` for ``or``, ``dim is None``, ``keepdim is None``, ``None`` passed for either), or
    ``torch_names`` called with an argument missing."""
    fn, t = getattr(tl, name), Tensor(X23)
    np.testing.assert_array_equal(fn(t, dim=1).data, ref(X23, axis=1))
    np.testing.assert_array_equal(fn(t, dim=0).data, ref(X23, axis=0))
    kept = fn(t, axis=1, keepdim=True)
    np.testing.assert_array_equal(kept.data, ref(X23, axis=1, keepdims=True))
    np.testing.assert_array_equal(fn(t, dim=-1, keepdim=True).data, ref(X23, axis=-1, keepdims=True))
    assert fn(t, dim=1, keepdim=False).shape == (2,)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_extremes_refuse_both_spellings_and_name_themselves(name):
    """``_arg_extreme`` mutants 5-7 (``torch_names`` handed ``None`` for the name, ``axis`` or
    ``keepdims``: no error, or one naming no function) and 20-27 (``V.boolean`` handed ``None`` or a
    changed argument name) and 29-32, 36-41 (``lift``/``one_axis`` handed ``None`` for the name or the value)."""
    fn, t = getattr(tl, name), Tensor(X23)
    with pytest.raises(TypeError, match=f"^{name}: got both axis=0 and dim=1"):
        fn(t, axis=0, dim=1)
    with pytest.raises(TypeError, match=f"^{name}: got both keepdims=True and keepdim=True"):
        fn(t, axis=1, keepdims=True, keepdim=True)
    with pytest.raises(TypeError, match=f"^{name}: keepdims must be True or False, got 'yes'"):
        fn(t, axis=1, keepdims="yes")
    with pytest.raises(TypeError, match=f"^{name}: operand 'abc' of type str is not numeric"):
        fn("abc")
    with pytest.raises(ValueError, match=f"^{name}: axis -3 is out of range for a tensor with 2 dimension"):
        fn(t, axis=-3)
    with pytest.raises(TypeError, match=f"^{name}: axis must be an int, got 1.0"):
        fn(t, axis=1.0)


@pytest.mark.parametrize("name, ref", [("argmax", np.argmax), ("argmin", np.argmin)])
def test_arg_extremes_defaults_keepdims_and_small_inputs(name, ref):
    """``_arg_extreme`` mutants 15-19 (the keepdims default changed, or always False), 33-34, 42-45
    (the axis lost or misread, ``axes[0]`` of an empty tuple for a 0-d tensor) and 48 (a 1-element
    tensor refused as empty)."""
    fn, t = getattr(tl, name), Tensor(X23)
    assert fn(t).shape == () and fn(t).item() == ref(X23)
    assert fn(t, 1).shape == (2,)
    np.testing.assert_array_equal(fn(t, axis=0, keepdims=True).data, ref(X23, axis=0, keepdims=True))
    np.testing.assert_array_equal(fn(t, None, True).data, ref(X23, keepdims=True))
    assert fn(t, axis=0, keepdims=False).shape == (3,)
    for axis in (0, -1, None):  # a 0-d tensor has one element, at flat index 0 (as in PyTorch)
        assert fn(Tensor(np.float64(3.5)), axis=axis).item() == 0
    assert fn(Tensor([7.0]), axis=0).item() == 0 and fn(Tensor([7.0])).item() == 0
    assert fn(Tensor([[5.0, 1.0, 5.0]]), axis=0).shape == (3,)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_extremes_of_empty_tensors(name):
    """``_arg_extreme`` mutants 46-53: which empty tensors have no answer. Over the whole tensor or along
    an empty axis there is none (our message, naming the function); along a non-empty axis of an empty
    tensor the answer is an empty index array, as in NumPy."""
    fn = getattr(tl, name)
    for shape, axis in (((0,), None), ((0, 2), None), ((0, 2), 0), ((2, 0), 1), ((2, 0), -1)):
        with pytest.raises(ValueError, match=rf"^{name}: a tensor of shape \({shape[0]}, ?(\d+)?\) has no "
                                             f"elements along axis {axis}$"):
            fn(Tensor(np.zeros(shape)), axis=axis)
    out = fn(Tensor(np.zeros((0, 2))), axis=1)
    assert out.shape == (0,) and out.dtype.kind == "i"
    assert fn(Tensor(np.zeros((3, 0))), axis=0).shape == (0,)


def test_arg_extremes_are_named_documented_methods():
    """``_arg_extreme`` mutants 62-72 (the function's name or docstring lost, or argmax documented as
    the smallest element) and 76-78 (not bound as a Tensor method)."""
    assert tl.argmax.__name__ == "argmax" and tl.argmin.__name__ == "argmin"
    assert "largest" in tl.argmax.__doc__ and "smallest" not in tl.argmax.__doc__
    assert "smallest" in tl.argmin.__doc__ and "largest" not in tl.argmin.__doc__
    t = Tensor(X23)
    np.testing.assert_array_equal(t.argmax(1).data, [1, 2])
    np.testing.assert_array_equal(t.argmin(axis=0).data, [0, 1, 0])


# --- comparisons (the _compare factory: planted by hand) ----------------------------------------

CMP = [("lt", np.less, "<"), ("le", np.less_equal, "<="), ("gt", np.greater, ">"), ("ge", np.greater_equal, ">="),
       ("eq", np.equal, "=="), ("ne", np.not_equal, "!=")]


@pytest.mark.parametrize("name, ref, symbol", CMP)
def test_comparisons_broadcast_and_name_themselves_in_errors(name, ref, symbol):
    """``_compare`` mutants 6-19: operands not paired, or ``pair``/``broadcast_shape`` handed ``None``
    for an operand or the name, and 13 (the shape check skipped when the shapes differ, leaving NumPy's
    message that names no function)."""
    fn = getattr(tl, name)
    a, b = np.array([[0.5], [2.0]]), np.array([0.5, 1.0, 3.0])
    np.testing.assert_array_equal(fn(Tensor(a), Tensor(b)).data, ref(a, b))
    np.testing.assert_array_equal(fn(Tensor(a), 1.0).data, ref(a, 1.0))
    np.testing.assert_array_equal(fn([1.0, 2.0], Tensor([2.0, 2.0])).data, ref([1.0, 2.0], [2.0, 2.0]))
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(3,\) and \(4,\) cannot be broadcast together"):
        fn(Tensor(np.ones(3)), Tensor(np.ones(4)))
    with pytest.raises(TypeError, match=f"^{name}: operand 'abc' of type str is not numeric"):
        fn(Tensor(np.ones(3)), "abc")
    with pytest.raises(TypeError, match=f"^{name}: operand 'abc' of type str is not numeric"):
        fn("abc", Tensor(np.ones(3)))


@pytest.mark.parametrize("name, ref, symbol", CMP)
def test_comparisons_are_named_documented_and_bound_to_their_operator(name, ref, symbol):
    """``_compare`` mutants 26-30, 32-36 (name or docstring lost; the operator not bound, or bound
    under a wrong name)."""
    fn = getattr(tl, name)
    assert fn.__name__ == name and f"``a {symbol} b``" in fn.__doc__
    x, y = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    got = eval(f"Tensor(x) {symbol} Tensor(y)")  # the operator form
    np.testing.assert_array_equal(got.data, ref(x, y))
    assert got.dtype == np.bool_ and not got.requires_grad


# --- defop (runs once per entry at import: planted by hand) -------------------------------------

def test_a_per_parent_entry_without_raw_rules_runs_its_tensor_rules():
    """``defop`` mutant 5: an ``each=`` entry (one rule for every parent, as concatenate's) without
    ``raw=`` given ``each_parent(None)`` as its raw rules, so its first-order backward calls ``None``
    instead of running the Tensor rule on arrays. d(a·b)/da = b, d(a·b)/db = a."""
    from tinygrad_loss._opkit import TensorRulesOnArrays, binary, unregister

    def rule(i, g, o, a, b):
        return ops.unbroadcast(ops.mul(g, (b, a)[i]), (a, b)[i].shape)

    product = ops.defop("product_each_probe", np.multiply, each=rule, frontend=binary)
    try:
        assert isinstance(ops.OPS["product_each_probe"].raw, TensorRulesOnArrays)
        a = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
        b = Tensor(np.array([[0.5], [4.0]]), requires_grad=True)
        product(a, b).backward(gradient=np.ones((2, 3)))
        np.testing.assert_array_equal(a.grad.data, [4.5, 4.5, 4.5])
        np.testing.assert_array_equal(b.grad.data, [[2.0], [2.0]])
    finally:
        unregister("product_each_probe")


def test_an_entry_without_method_is_not_a_tensor_method_and_keeps_its_doc():
    """``defop`` mutants 1 (every entry bound as a Tensor method by default) and 15 (``doc=`` dropped:
    ``pow`` is documented by its entry)."""
    for name in ("add", "neg", "where", "scatter_add", "tanh_grad", "concatenate", "stack"):
        assert not hasattr(Tensor, name), name
    for name in ("exp", "sum", "maximum", "reshape", "matmul"):
        assert callable(getattr(Tensor, name)), name
    assert "exponent" in tl.pow.__doc__  # the entry's doc=, not the binary front-end's generic one


# --- the VJPs' cached constants (_c) ----------------------------------------------------------
# mutmut forks its test runs from a process whose cache is already full, so only a test that starts
# from an empty cache reaches the code that makes a constant.

def _second_derivative(fn, x):
    """d/dx of sum(d fn / dx), through the recorded (Tensor-rule) first derivative."""
    (g,) = tl.grad(fn(x).sum(), [x], create_graph=True)
    (gg,) = tl.grad(g.sum(), [x])
    return g, gg


def test_constants_of_the_tensor_rules_keep_the_float_dtype_and_are_read_only(monkeypatch):
    """``_c`` mutants 5-10, 12-14 (the constant made from ``None``, without the tensor's dtype, or in
    float64 for a float32 graph), 15-18 (left writable, or not stored) and 2-3 (made again on every
    call: the docstring promises one per value and dtype). Expected: the derivatives of sqrt,
    d/dx √x = 1/(2√x) and d²/dx² = -1/(4 x^1.5), in float32."""
    monkeypatch.setattr(ops, "_CONSTANTS", {})
    x = Tensor(np.array([0.5, 1.0, 4.0], dtype=np.float32), requires_grad=True)
    g, gg = _second_derivative(tl.sqrt, x)
    assert g.dtype == np.float32 and gg.dtype == np.float32
    x64 = x.data.astype(np.float64)
    np.testing.assert_allclose(g.data, 0.5 / np.sqrt(x64), rtol=1e-6)
    np.testing.assert_allclose(gg.data, -0.25 * x64 ** -1.5, rtol=1e-6)
    two = ops._c(2.0, x)
    assert two is ops._c(2.0, x) and two is not ops._c(2.0, Tensor(np.zeros(2)))
    assert two.dtype == np.float32 and two.item() == 2.0 and not two.requires_grad
    assert not two.data.flags.writeable
    with pytest.raises(ValueError):
        two.data[...] = 3.0


@pytest.mark.parametrize("kind", ["mask", "index"])
def test_second_derivative_of_a_power_with_a_boolean_or_integer_exponent(monkeypatch, kind):
    """``_c`` mutant 11: the constant 1 of ``b - 1`` made in the exponent's own dtype when that is not
    a float (a boolean 1 cannot be subtracted). d/da a^b = b a^(b-1), d²/da² = b (b-1) a^(b-2), with the
    exponent a boolean mask (``x > 0``) or an integer index (``argmax``)."""
    monkeypatch.setattr(ops, "_CONSTANTS", {})
    if kind == "mask":
        exponent = Tensor(np.array([1.0, -1.0, 2.0])) > 0
    else:
        exponent = tl.argmax(Tensor([1.0, 5.0, 2.0]))  # the integer 1, shape ()
    assert exponent.dtype.kind == ("b" if kind == "mask" else "i")
    a = Tensor(np.array([1.5, 2.0, 3.0]), requires_grad=True)
    b = np.asarray(exponent.data, dtype=np.float64)
    g, gg = _second_derivative(lambda t: t ** exponent, a)
    np.testing.assert_allclose(g.data, b * a.data ** (b - 1), rtol=1e-12)
    np.testing.assert_allclose(gg.data, b * (b - 1) * a.data ** (b - 2), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("create_graph", [False, True])
def test_gradient_for_the_exponent_of_zero_to_the_zero_is_zero(create_graph):
    """``_log_base`` mutants 15 (log 2 instead of log 1 at a zero base) and 17 (the guard taken only when
    some base is non-zero, so an all-zero base gives log 0 = -inf): 0^0 = 1 is constant in b at a = 0,
    and PyTorch's convention for d(a^b)/db there is 0; on both backward paths."""
    a = Tensor(np.array([0.0, 0.0]), requires_grad=True)
    b = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (a ** b).backward(gradient=np.ones(2), create_graph=create_graph)
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0])


# --- the node builders the Tensor rules use (_sum_over, _reshape_to, _expand_to, _permute_to) --------

def _same_node(got, want):
    assert got.op == want.op and got.saved == want.saved and got.shape == want.shape
    assert len(got.parents) == len(want.parents)
    for p, q in zip(got.parents, want.parents):
        assert p is q or (p.op == q.op and np.array_equal(p.data, q.data))
    np.testing.assert_array_equal(got.data, want.data)


def test_node_builders_make_the_node_the_public_function_makes():
    """``_sum_over`` mutants 15-16 and 19 (the saved ``axes`` under another key, ``keepdims`` saved as
    False for a kept-dims sum): the VJPs read neither when ``keepdims`` is set, but the saved values are
    what replays and pictures of a recorded gradient read, and the helpers promise the public op's node."""
    t = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    _same_node(ops._sum_over(t, (1,), True), tl.sum(t, axis=1, keepdims=True))
    _same_node(ops._sum_over(t, (0, 2), False), tl.sum(t, axis=(0, 2)))
    _same_node(ops._reshape_to(t, (6, 4)), tl.reshape(t, (6, 4)))
    _same_node(ops._expand_to(tl.sum(t, axis=0, keepdims=True), (5, 3, 4)),
               tl.expand(tl.sum(t, axis=0, keepdims=True), (5, 3, 4)))
    _same_node(ops._permute_to(t, (2, 0, 1)), tl.permute(t, (2, 0, 1)))
    assert ops._reshape_to(t, (2, 3, 4)) is t and ops._expand_to(t, (2, 3, 4)) is t


def test_a_recorded_softmax_gradient_saves_its_sum_like_sum_does():
    """The same ``_sum_over`` mutants, seen through the public API: the sum node inside the recorded
    gradient of softmax saves the axis and ``keepdims=True``, as ``tl.sum`` would."""
    x = Tensor(np.array([[0.5, -1.0, 2.0], [0.0, 1.0, 3.0]]), requires_grad=True)
    (g,) = tl.grad(tl.softmax(x, axis=1)[:, 0].sum(), [x], create_graph=True)
    sums = [n for n in topological_order(g) if n.op == "sum"]
    assert sums and all(n.saved == {"axes": (1,), "keepdims": True} for n in sums)
    s = tl.softmax(x, axis=1).data                 # d s_0 / d x_j = s_0 (δ_0j - s_j)
    np.testing.assert_allclose(g.data, s[:, :1] * ((np.arange(3) == 0) - s), rtol=1e-12)


# --- unbroadcast (public) ---------------------------------------------------------------------

def test_unbroadcast_sums_an_array_gradient_down_to_a_shape():
    """``unbroadcast`` mutant 4: an array (not a Tensor) gradient lifted from ``None``. Expected: the
    sums over the broadcast axes, by NumPy."""
    g = np.arange(24.0).reshape(2, 3, 4)
    for shape, axes in (((4,), (0, 1)), ((3, 1), (0, 2)), ((1, 1, 4), (0, 1)), ((2, 3, 4), ())):
        out = ops.unbroadcast(g, shape)
        assert isinstance(out, Tensor) and out.shape == shape
        np.testing.assert_array_equal(out.data, np.sum(g, axis=axes, keepdims=True).reshape(shape))
    assert tl.unbroadcast is ops.unbroadcast


def test_unbroadcast_refuses_a_shape_the_gradient_did_not_broadcast_from():
    """``unbroadcast`` mutants 23 (``and`` for ``or``: a gradient of shape (2, 1) "summed down" to (3,)),
    25, 28-32 (``broadcast_shape`` handed no name, another name, or one shape only)."""
    g = Tensor(np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"^unbroadcast: a gradient of shape \(2, 1\) cannot be summed down to "
                                         r"shape \(3,\)$"):
        ops.unbroadcast(g, (3,))
    with pytest.raises(ValueError, match=r"^unbroadcast: a gradient of shape \(2, 1\) cannot be summed down to "
                                         r"shape \(1, 2, 1\)$"):
        ops.unbroadcast(g, (1, 2, 1))
    with pytest.raises(ValueError, match=r"^unbroadcast: shapes \(4,\) and \(2, 3\) cannot be broadcast together$"):
        ops.unbroadcast(Tensor(np.ones((2, 3))), (4,))
    with pytest.raises(TypeError, match=r"^unbroadcast: shape must be an int or a tuple of ints"):
        ops.unbroadcast(g, "2")


# --- second derivatives through the Tensor rules of the reductions ----------------------------
# f(x) = Σ reduce(x)²: the first derivative 2 reduce(x) ∂reduce/∂x carries the upstream gradient
# 2 reduce(x), which depends on x, so the second pass goes back through the expand that undoes the
# reduction (a VJP whose upstream gradient is constant never does).

@pytest.mark.parametrize("name", ["sum", "mean", "max", "logsumexp"])
@pytest.mark.parametrize("axis, keepdims", [(1, False), (1, True), ((0, 2), False), (None, False)])
def test_second_derivatives_of_squared_reductions(name, axis, keepdims):
    """``_expand_to`` mutants 3, 5 and 9 (the expand node made without its op or its saved shape: no
    gradient flows back through it) and the same for the reshape of ``_expand_back``; checked by
    float64 central differences of the recorded first derivative (``gradgradcheck``)."""
    fn = getattr(tl, name)
    x = np.random.default_rng(7).permutation(np.linspace(-1.5, 1.5, 24)).reshape(2, 3, 4)  # distinct: max is smooth
    assert tl.gradgradcheck(lambda t: fn(t, axis=axis, keepdims=keepdims) ** 2, x, atol=1e-6, rtol=1e-5)
    assert tl.gradcheck(lambda t: fn(t, axis=axis, keepdims=keepdims) ** 2, x, atol=1e-6, rtol=1e-5)


# --- error messages of the forwards -------------------------------------------------------------

def test_reshape_and_indexing_errors_name_the_function_shape_and_argument():
    """``_getitem_np`` mutant 2 (the index shown as None): an out-of-range index, like a wrong reshape,
    names the op, the tensor's shape and what was asked. (``_reshape_np`` mutant 2, its message dropped,
    survives: the front-end refuses these shapes first, with this message, so that branch is unreachable.)"""
    t = Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"^reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into "
                                         r"shape \(4, -1\)$"):
        tl.reshape(t, (4, -1))
    with pytest.raises(ValueError, match=r"^reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into "
                                         r"shape \(4,\)$"):
        t.reshape(4)
    with pytest.raises(IndexError, match=r"^getitem: .*7.* \(tensor of shape \(2, 3\), index \(0, 7\)\)$"):
        t[0, 7]
    with pytest.raises(IndexError, match=r"\(tensor of shape \(2, 3\), index 5\)$"):
        t[5]


def test_the_diagnostics_replay_a_cast_in_float64():
    """``defop`` mutant 24 (``replay=`` dropped: astype's entry re-runs its forward, casting the float64
    replay down to float32, so the finite differences of the gradient badge see float32 rounding and
    the badge of a correct gradient turns red)."""
    from tinygrad_loss.viz import diagnostics

    x = Tensor(np.array([0.3, -1.2, 2.5]), requires_grad=True)
    c = x.astype("float32")
    out = (c * c).sum()
    badge = diagnostics.gradcheck_badges(out, [x, c, out.parents[0], out])[id(x)]  # parents first
    assert badge.ok, badge
    np.testing.assert_allclose(tl.grad(out, [x])[0].data, 2 * x.data, rtol=1e-6)  # d Σ x² = 2x (float32 path)
