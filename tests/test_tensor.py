"""Tensor: dtype rules, properties, methods, repr, constructors, operators with NumPy and scalars."""
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor

# --- dtype rules -------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [3, 2.5, True, [1, 2], [[1.0, 2.0]], np.arange(3), np.array([1, 2], dtype=np.int8),
                                  np.array([True, False]), [np.float64(1.0)], np.uint16(7)],
                         ids=lambda d: type(d).__name__)
def test_numbers_lists_and_integer_arrays_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_float_arrays_keep_their_dtype(dtype):
    a = np.array([1.5, -2.0], dtype=dtype)
    assert Tensor(a).dtype == dtype
    assert Tensor(dtype(1.5)).dtype == dtype  # NumPy float scalars too


def test_set_default_dtype():
    assert tg.get_default_dtype() == np.float32
    tg.set_default_dtype(np.float64)
    try:
        assert Tensor(1).dtype == np.float64 and Tensor([1, 2]).dtype == np.float64
        assert Tensor(np.arange(2)).dtype == np.float64
        assert Tensor(np.ones(2, np.float32)).dtype == np.float32  # float arrays still keep theirs
        assert tg.zeros(2).dtype == np.float64 and tg.randn(2).dtype == np.float64
        assert (Tensor(np.ones(2, np.float32)) + 1).dtype == np.float32  # scalars follow the tensor
    finally:
        tg.set_default_dtype(np.float32)
    assert Tensor(1).dtype == np.float32
    with pytest.raises(TypeError, match="set_default_dtype: dtype must be a float dtype"):
        tg.set_default_dtype(np.int32)


def test_explicit_dtype_and_bad_data():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2), dtype="float32").dtype == np.float32
    with pytest.raises(TypeError, match="float"):
        Tensor([1, 2], dtype=np.int64)
    for bad in ("abc", [1, "a"], np.array([1 + 2j]), {"a": 1}, None):
        with pytest.raises(TypeError, match="Tensor"):
            Tensor(bad)
    with pytest.raises(TypeError, match="only float tensors can require gradients"):
        Tensor([True], dtype=bool, requires_grad=True)


def test_data_is_copied_on_construction():
    a = np.array([1.0, 2.0])
    t = Tensor(a)
    a[0] = 99
    assert t.data[0] == 1.0
    u = Tensor(t)
    assert u.data is not t.data and u.dtype == t.dtype


# --- properties and methods --------------------------------------------------------------------

def test_properties():
    t = Tensor(np.zeros((2, 3)), requires_grad=True, name="w")
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert t.requires_grad is True and t.name == "w" and t.grad is None
    assert t.op is None and t.parents == () and t.is_leaf and t.scope == ""
    s = Tensor(5.0)
    assert s.shape == () and s.ndim == 0 and s.size == 1 and not s.requires_grad and s.name is None
    y = t * 2
    assert y.op == "mul" and y.parents[0] is t and not y.is_leaf and y.requires_grad


def test_numpy_item_detach_zero_grad():
    t = Tensor([[1.0, 2.0]], requires_grad=True)
    assert t.numpy() is t.data
    assert Tensor([[4.5]]).item() == 4.5 and isinstance(Tensor(2).item(), float)
    with pytest.raises(ValueError, match=r"item: .*shape \(1, 2\)"):
        t.item()
    y = t * 3
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and np.shares_memory(d.data, y.data)
    (y.sum() + d.sum()).backward()
    np.testing.assert_array_equal(t.grad.data, [[3.0, 3.0]])  # nothing flows through the detached copy
    t.zero_grad()
    assert t.grad is None


def test_python_protocols():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(t) == 2
    rows = list(t)
    assert len(rows) == 2 and isinstance(rows[0], Tensor) and rows[1].tolist() == [3.0, 4.0]
    with pytest.raises(TypeError, match="0-d"):
        iter(Tensor(1.0)).__next__()
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))
    assert float(Tensor([2.5])) == 2.5
    assert bool(Tensor(1.0)) and not bool(Tensor([0.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    arr = np.asarray(t)
    assert arr.dtype == np.float32 and arr.shape == (2, 2)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert {t: 1}[t] == 1  # hashable by identity even though == is elementwise
    # == with non-numeric objects falls back to identity instead of failing
    assert (t == None) is False and (t != "auto") is True  # noqa: E711
    assert t in [None, "auto", t] and t not in [None, "auto"]
    assert (t == [[1, 0], [3, 4]]).tolist() == [[True, False], [True, True]]


def test_requires_grad_():
    t = Tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    y = t * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)


def test_repr_is_readable():
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    r = repr(Tensor(np.array([0.5]), requires_grad=True, name="w"))
    assert r.startswith("Tensor([0.5]") and "dtype=float64" in r and "requires_grad=True" in r and "name='w'" in r
    y = Tensor([1.0], requires_grad=True) * 2
    assert "op=mul" in repr(y)
    big = repr(Tensor(np.arange(1000.0)))
    assert "..." in big and len(big) < 200
    assert repr(Tensor(3.0)) == "Tensor(3.)"


# --- constructors ------------------------------------------------------------------------------

def test_zeros_ones_full_arange():
    z = tg.zeros(2, 3)
    assert z.shape == (2, 3) and z.dtype == np.float32 and not z.data.any()
    assert tg.zeros((2, 3)).shape == (2, 3) and tg.zeros().shape == ()
    o = tg.ones(4, dtype=np.float64, requires_grad=True)
    assert o.dtype == np.float64 and o.requires_grad and o.data.sum() == 4
    f = tg.full((2, 2), 7.5)
    np.testing.assert_array_equal(f.data, [[7.5, 7.5], [7.5, 7.5]])
    assert tg.full(3, 1.0).shape == (3,)
    np.testing.assert_array_equal(tg.arange(4).data, [0, 1, 2, 3])
    np.testing.assert_allclose(tg.arange(1, 2, 0.25).data, [1, 1.25, 1.5, 1.75])
    assert tg.arange(3).dtype == np.float32
    assert tg.tensor([1, 2], requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="step"):
        tg.arange(0, 1, 0)
    with pytest.raises(TypeError, match="full: fill_value must be a number, got 'a'"):
        tg.full((2,), "a")
    with pytest.raises(ValueError, match="zeros: shape"):
        tg.zeros(-1, 2)
    with pytest.raises(TypeError, match="float dtype"):
        tg.ones(2, dtype=np.int32)


def test_random_constructors_are_reproducible_with_manual_seed():
    tg.manual_seed(42)
    a = [tg.randn(3, 4), tg.rand(5), tg.uniform((2, 2), -3.0, -1.0)]
    tg.manual_seed(42)
    b = [tg.randn(3, 4), tg.rand(5), tg.uniform((2, 2), -3.0, -1.0)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)
    tg.manual_seed(43)
    assert not np.array_equal(tg.randn(3, 4).data, a[0].data)
    # consecutive draws differ; the generator is shared by every random constructor
    tg.manual_seed(42)
    first, second = tg.randn(3), tg.randn(3)
    assert not np.array_equal(first.data, second.data)
    gen = tg.get_generator()
    assert tg.manual_seed(1) is gen  # reseeded in place: code holding the generator sees the new seed
    x = gen.standard_normal(3)
    tg.manual_seed(1)
    np.testing.assert_array_equal(gen.standard_normal(3), x)
    with pytest.raises(ValueError, match="manual_seed"):
        tg.manual_seed(-1)


def test_random_distributions():
    tg.manual_seed(0)
    n = tg.randn(20000, dtype=np.float64)
    assert abs(n.data.mean()) < 0.03 and abs(n.data.std() - 1) < 0.03
    r = tg.rand(20000)
    assert r.dtype == np.float32 and r.data.min() >= 0 and r.data.max() < 1 and abs(r.data.mean() - 0.5) < 0.01
    u = tg.uniform(20000, low=-3.0, high=-1.0, dtype=np.float64)
    assert u.data.min() >= -3 and u.data.max() < -1 and abs(u.data.mean() + 2) < 0.02
    assert tg.randn(2, 3, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="low < high"):
        tg.uniform(3, 1.0, 1.0)


def test_like_constructors():
    base = Tensor(np.ones((2, 3)))
    for fn in (tg.zeros_like, tg.ones_like, tg.randn_like, tg.rand_like):
        t = fn(base)
        assert t.shape == (2, 3) and t.dtype == np.float64
        assert fn(np.zeros((4,), np.int64)).dtype == np.float32  # int array -> default dtype
        assert fn(base, dtype=np.float32).dtype == np.float32
        assert fn(base, requires_grad=True).requires_grad
    np.testing.assert_array_equal(tg.zeros_like(base).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(tg.ones_like(base).data, np.ones((2, 3)))
    np.testing.assert_array_equal(tg.full_like(base, 3.0).data, np.full((2, 3), 3.0))
    tg.manual_seed(9)
    a = tg.randn_like(base)
    tg.manual_seed(9)
    np.testing.assert_array_equal(a.data, tg.randn(2, 3, dtype=np.float64).data)


# --- operators with scalars and NumPy arrays on either side -------------------------------------

OPERATORS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "**": lambda a, b: a ** b, "@": lambda a, b: a @ b,
}


OTHER_KINDS = ["python scalar", "numpy scalar", "numpy array", "int array", "list"]


@pytest.mark.parametrize("sym, other_kind", [(s, k) for s in OPERATORS for k in OTHER_KINDS
                                             if not (s == "@" and "scalar" in k)])  # matmul takes no scalars
def test_operators_with_non_tensors_on_both_sides(sym, other_kind):
    f = OPERATORS[sym]
    t_np = np.array([[1.5, 2.0], [0.5, 3.0]])
    others = {"python scalar": 2.0, "numpy scalar": np.float64(2.0), "numpy array": np.array([[0.5, 1.0], [2.0, 1.5]]),
              "int array": np.array([[1, 2], [3, 1]]), "list": [[1.0, 2.0], [0.5, 1.0]]}
    other = others[other_kind]
    t = Tensor(t_np, requires_grad=True)
    for out, ref in ((f(t, other), f(t_np, np.asarray(other, dtype=float))),
                     (f(other, t), f(np.asarray(other, dtype=float), t_np))):
        assert type(out) is Tensor, f"{other_kind} {sym} Tensor gave {type(out).__name__}"
        assert out.dtype == np.float64 and out.requires_grad
        np.testing.assert_allclose(out.data, ref, rtol=1e-12)


@pytest.mark.parametrize("fn, op", [(lambda t: t + "a", "add"), (lambda t: None * t, "mul"), (lambda t: t @ "x", "matmul"),
                                    (lambda t: t ** {}, "pow"), (lambda t: t < "a", "lt"),
                                    (lambda t: tg.where(True, t, "q"), "where")])
def test_non_numeric_operand_is_a_type_error_naming_the_op(fn, op):
    with pytest.raises(TypeError, match=rf"^{op}: operand .* is not numeric"):
        fn(Tensor([1.0, 2.0]))


def test_numpy_array_minus_tensor_returns_tensor_and_backprops():
    t = Tensor([1.0, 2.0], requires_grad=True)
    out = np.array([5.0, 5.0]) - t
    assert type(out) is Tensor and out.dtype != object
    np.testing.assert_array_equal(out.data, [4.0, 3.0])
    out.sum().backward()
    np.testing.assert_array_equal(t.grad.data, [-1.0, -1.0])
    assert type(np.ones((2, 2)) @ t) is Tensor
    assert type(np.float32(2) ** t) is Tensor


def test_unary_operators_and_methods():
    t = Tensor([[1.0, -2.0], [3.0, 0.5]])
    np.testing.assert_array_equal((-t).data, [[-1, 2], [-3, -0.5]])
    assert (+t) is t
    np.testing.assert_array_equal(abs(t).data, [[1, 2], [3, 0.5]])
    np.testing.assert_array_equal(t.T.data, [[1, 3], [-2, 0.5]])
    assert t.reshape(4).shape == (4,) and t.reshape((1, 4)).shape == (1, 4)
    assert t.sum().item() == 2.5 and t.mean(axis=0).tolist() == [2.0, -0.75]
    assert t.max().item() == 3.0 and t.min(axis=1).tolist() == [-2.0, 0.5]
    assert t.unsqueeze(0).shape == (1, 2, 2) and t.flatten().shape == (4,)
    assert t.square().tolist() == [[1, 4], [9, 0.25]]
    np.testing.assert_allclose(t.exp().log().data, t.data, rtol=1e-6)
    assert t.astype(np.float64).dtype == np.float64
    for name in ("sqrt", "tanh", "sigmoid", "relu", "erf", "log1p", "softmax", "log_softmax", "logsumexp",
                 "permute", "transpose", "swapaxes", "expand", "broadcast_to", "squeeze", "clip", "matmul",
                 "maximum", "minimum"):
        assert callable(getattr(t, name))


# --- docs/core.md snippets run -----------------------------------------------------------------

def test_core_doc_snippets_run():
    """Every ```python block of docs/core.md runs (in order, sharing one namespace) and its asserts hold."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "core.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    ns = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/core.md[block {i}]", "exec"), ns)
