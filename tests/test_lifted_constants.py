"""Python numbers in ops (the 0.5 of ``y * 0.5``) become one read-only constant per (number, type,
dtype), shared by every op that uses that number (tinygrad_loss/_opkit.py, ``lift``)."""
import math
import warnings

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import _opkit, ops
from tinygrad_loss.tensor import is_lifted_constant


def leaf(values, dtype=np.float32):
    return tl.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def const_of(node):
    (c,) = [p for p in node.parents if is_lifted_constant(p)]
    return c


def test_one_constant_per_number_and_dtype_shared_by_every_use():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(50):
        y = y * 0.5
    consts = {id(p) for t in tl.topological_order(y) for p in t.parents if is_lifted_constant(p)}
    assert len(consts) == 1
    np.testing.assert_array_equal(y.data, np.array([1.0, 2.0], np.float32) * 0.5 ** 50)
    x64 = leaf([1.0], np.float64)
    c32, c64 = const_of(x * 0.5), const_of(x64 * 0.5)
    assert c32.dtype == np.float32 and c64.dtype == np.float64 and c32 is not c64


def test_signed_zeros_are_two_constants():
    x = leaf([3.0])
    for first, second in ((0.0, -0.0), (-0.0, 0.0)):
        _opkit._LIFTED.clear()
        a, b = _opkit.lift(first, x), _opkit.lift(second, x)
        assert a is not b
        assert np.signbit(a.data) == (math.copysign(1.0, first) < 0)
        assert np.signbit(b.data) == (math.copysign(1.0, second) < 0)
    with np.errstate(divide="ignore"):
        assert (1.0 / (x * 0.0 + -0.0)).data[0] == np.inf  # 3*0 + (-0) = +0
        assert (1.0 / (x * -0.0)).data[0] == -np.inf


def test_bools_ints_and_floats_are_distinct_keys_with_the_same_values():
    x = leaf([2.0])
    t, one, onef = _opkit.lift(True, x), _opkit.lift(1, x), _opkit.lift(1.0, x)
    assert len({id(t), id(one), id(onef)}) == 3
    assert t.data == one.data == onef.data == 1.0 and t.dtype == one.dtype == onef.dtype == np.float32
    np.testing.assert_array_equal((x * True).data, [2.0])
    np.testing.assert_array_equal((x + False).data, [2.0])


def test_nan_is_lifted_but_not_kept():
    x = leaf([1.0])
    _opkit._LIFTED.clear()
    for _ in range(3):
        assert np.isnan((x * float("nan")).data).all()
    assert len(_opkit._LIFTED) == 0
    assert np.isnan((x + math.nan).data).all() and len(_opkit._LIFTED) == 0


def test_huge_ints_raise_or_warn_every_time():
    x = leaf([1.0])
    with pytest.raises(OverflowError):
        x * 10 ** 400
    for _ in range(2):  # overflowing float32 warns at each use: such numbers are not kept
        with pytest.warns(RuntimeWarning, match="overflow"):
            y = x * 10 ** 39
        assert y.data[0] == np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (x * 2 ** 70).data[0] == np.float32(2.0 ** 70)  # large, but representable: kept, no warning
        assert (x * 2 ** 70).data[0] == np.float32(2.0 ** 70)


def test_the_cache_is_bounded():
    x = leaf([1.0])
    for i in range(_opkit.LIFTED_CACHE_SIZE + 100):
        x * float(i)
    assert 0 < len(_opkit._LIFTED[np.dtype(np.float32)]) <= _opkit.LIFTED_CACHE_SIZE


def test_a_constant_is_read_only():
    x = leaf([1.0, 2.0])
    c = const_of(x * 0.5)
    assert not c.requires_grad and c.is_leaf and c.name is None
    with pytest.raises(RuntimeError, match="requires_grad_.*shared"):
        c.requires_grad_()
    with pytest.raises(RuntimeError, match="shared"):
        c.requires_grad = True
    c.requires_grad_(False)  # asking for what it is already is fine
    with pytest.raises(RuntimeError, match="name.*shared"):
        c.name = "half"
    with pytest.raises(RuntimeError, match="Tensor.data.*read-only"):
        c.data = np.asarray(2.0, np.float32)
    with pytest.raises(ValueError, match="read-only"):
        c.numpy()[...] = 2.0
    for update in (lambda: c.__iadd__(1.0), lambda: c.__imul__(2.0), lambda: c.fill_(3.0), lambda: c.zero_(),
                   lambda: c.copy_(np.float32(4.0))):
        with pytest.raises(RuntimeError, match="in-place update.*read-only"):
            update()
    with tl.no_grad():
        with pytest.raises(RuntimeError, match="read-only"):
            c -= 1.0
    assert c.data == 0.5 and const_of(x * 0.5) is c


def test_gradients_flow_past_constants_and_never_into_them():
    x = leaf([0.3, -1.2], np.float64)
    y = ((x * 0.5 + 0.5 * x) ** 2 - 1.0).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)  # d/dx sum((x)^2 - 1)
    assert all(p.grad is None for t in tl.topological_order(y) for p in t.parents if is_lifted_constant(p))
    assert tl.gradcheck(lambda a: ((a * 0.5 + 0.5 * a) ** 2 - 1.0).sum(), [x.data])


def test_pictures_draw_the_value_next_to_each_op_that_uses_it():
    x = tl.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * 2.5 + x * 2.5).sum()
    dot = tl.to_dot(y)
    assert dot.count('label="2.5"') == 2
    assert const_of(y.parents[0].parents[0]) is const_of(y.parents[0].parents[1])


def test_default_dtype_change_gives_the_new_dtype():
    try:
        tl.set_default_dtype(np.float64)
        assert ops.mul(0.5, 2.0).dtype == np.float64
        tl.set_default_dtype(np.float32)
        assert ops.mul(0.5, 2.0).dtype == np.float32
    finally:
        tl.set_default_dtype(np.float32)
