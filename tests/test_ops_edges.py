"""Ops and global state at their edges, for mutants that mutmut cannot activate (code that runs once,
at import: the factories that build lt/eq/argmax..., the global switches) and that were planted by
hand instead (issue 19). Expected values are NumPy's."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_loss as tl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name, fn", [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                                      ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)])
def test_comparisons_with_a_number_on_the_left(name, fn):
    """Mutant in the comparison factory: operands paired only when the first is not a Tensor
    (``type(a) is Tensor or ...``), so ``lt(0.5, t)`` failed; the operator form never sees it."""
    x = np.array([0.2, 0.5, 0.8])
    t = tl.Tensor(x)
    got = getattr(tl, name)(0.5, t)
    np.testing.assert_array_equal(got.data, fn(0.5, x))
    np.testing.assert_array_equal(getattr(tl, name)(t, 0.5).data, fn(x, 0.5))
    np.testing.assert_array_equal(getattr(tl, name)(x, t).data, fn(x, x))
    assert not got.requires_grad


def test_a_fresh_import_records_gradients_in_no_scope():
    """Mutants in the global switches' initial values (grad recording off, a scope set): the test suite's
    autouse fixture resets them before every test, so only a fresh interpreter sees the defaults."""
    code = ("import tinygrad_loss as tl, numpy as np\n"
            "x = tl.Tensor(np.array([2.0]), requires_grad=True)\n"
            "y = x * x\n"
            "print(tl.is_grad_enabled(), repr(tl.current_scope()), y.requires_grad, repr(y.scope))\n")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "''", "True", "''"]


def test_pow_gradient_for_the_exponent_at_an_all_zero_base_is_zero():
    """d(a^b)/db = a^b log a has the limit 0 at a = 0 (b > 0). Mutant in ``_log_base``: the zero-base guard
    taken when any entry is *non*-zero (``a != 0``), which leaves log 0 = -inf and a NaN for an all-zero base."""
    a = tl.Tensor(np.array([0.0, 0.0]), requires_grad=True)
    b = tl.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0])
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])  # b a^(b-1) at 0 for b > 1


def test_logsumexp_and_log_softmax_of_rows_holding_minus_infinity():
    """A row that is all -inf has logsumexp -inf (log of an empty sum), not nan; a row with one -inf entry
    gives that entry probability 0 and the others their usual softmax. Mutants in ``_shifted``: the
    non-finite maxima left as they are (-inf - -inf = nan) when the guard is inverted or skipped, or
    every row left unshifted (``np.where(None, m, 0)``: e^1000 overflows in the finite row)."""
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, np.log(3.0), -np.inf]])
    with np.errstate(divide="ignore"):            # log 0 = -inf is the answer here
        lse = tl.logsumexp(tl.Tensor(x), axis=1)
        big = tl.logsumexp(tl.Tensor(x + np.array([[0.0], [1000.0]])), axis=1)
    assert lse.data[0] == -np.inf == big.data[0]
    np.testing.assert_allclose(lse.data[1], np.log(4.0), rtol=1e-12)
    np.testing.assert_allclose(big.data[1], 1000.0 + np.log(4.0), rtol=1e-12)  # the finite row is still shifted
    np.testing.assert_allclose(tl.softmax(tl.Tensor(x[1:]), axis=1).data, [[0.25, 0.75, 0.0]], rtol=1e-12)
    ls = tl.log_softmax(tl.Tensor(x[1:]), axis=1).data
    np.testing.assert_allclose(ls[0, :2], [np.log(0.25), np.log(0.75)], rtol=1e-12)
    assert ls[0, 2] == -np.inf
    with np.errstate(invalid="ignore"):
        assert np.isnan(tl.softmax(tl.Tensor(x[:1]), axis=1).data).all()   # 0/0, as NumPy's formula gives


@pytest.mark.parametrize("create_graph", [False, True])
def test_logsumexp_over_no_axis_is_the_identity_also_for_infinite_entries(create_graph):
    """``logsumexp(x, axis=())`` reduces nothing: the output is x and the gradient is 1 everywhere, on
    both backward paths, also where x is ±inf (a softmax over single elements would give inf/inf or
    0/0 there). Mutant in ``_softmax_over_np``: the softmax computed even for no axis."""
    x = tl.Tensor(np.array([-np.inf, 0.0, 1.5, np.inf]), requires_grad=True)
    with np.errstate(divide="ignore"):            # the forward's log(exp(-inf)) = log 0 = -inf
        y = tl.logsumexp(x, axis=())
    np.testing.assert_array_equal(y.data, x.data)
    y.backward(gradient=np.array([1.0, 2.0, 3.0, 4.0]), create_graph=create_graph)
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("create_graph", [False, True])
def test_power_zero_has_gradient_zero_also_for_huge_bases(create_graph):
    """``a ** 0`` is the constant 1, so its gradient is 0 for every base, including 0 and 1e200 (where
    an exponent other than 1 in the guarded ``b a^(b-1)`` would overflow to 0 · inf = nan).
    Mutant in ``_pow_exponent``: the guarded exponent 2 instead of 1."""
    a = tl.Tensor(np.array([0.0, -3.0, 1e200]), requires_grad=True)
    y = a ** 0.0
    np.testing.assert_array_equal(y.data, [1.0, 1.0, 1.0])
    with np.errstate(over="ignore", invalid="ignore"):
        y.backward(gradient=np.ones(3), create_graph=create_graph)
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0, 0.0])


def test_gradient_of_a_broadcast_input_with_fewer_and_size_one_axes():
    """(1, 1) + (2, 5, 1): the (1, 1) input is copied along a new leading axis and along axis 1, so its
    gradient sums all 10 copies. Mutant in ``_broadcast_axes``: ``gs[i - lead]`` for ``gs[i + lead]``
    (it reads the wrong axis of the gradient and skips the sum over the size-5 axis)."""
    a = tl.Tensor(np.ones((1, 1)), requires_grad=True)
    b = tl.Tensor(np.ones((2, 5, 1)), requires_grad=True)
    (a + b).backward(gradient=np.full((2, 5, 1), 0.5))
    np.testing.assert_array_equal(a.grad.data, [[5.0]])
    np.testing.assert_array_equal(b.grad.data, np.full((2, 5, 1), 0.5))


# --- survivors of mutating the @public composites (tools/undecorate_for_mutmut.py, issue 19) ---------------

def test_swapaxes_and_transpose_name_the_argument_out_of_range():
    """Mutants: swapaxes checking ``j`` under the name None, ``XXjXX``, ``J`` or its default; transpose's renaming
    of ``j`` to ``axes`` keyed ``XXjXX``/``J`` or made ``XXaxesXX``/``AXES``."""
    x = tl.Tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"^swapaxes: j 5 is out of range"):
        tl.swapaxes(x, 0, 5)
    with pytest.raises(ValueError, match=r"^transpose: axes 5 is out of range"):
        tl.transpose(x, 0, 5)


def test_transpose_with_three_axes_given_separately_permutes():
    """Mutant: transpose's ``len(axes) == 2 and all ints`` made ``or``: three ints would swap the first two."""
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(tl.transpose(tl.Tensor(a), 2, 0, 1).data, np.transpose(a, (2, 0, 1)))
