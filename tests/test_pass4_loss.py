"""The loss call's fast paths (fourth speed pass): each gives exactly what the general path gives,
and every refusal is still raised, with its message, before anything changes."""
import itertools
import warnings

import numpy as np
import pytest

import tinygrad_loss as tg
from tinygrad_loss import Tensor, gradcheck, losses as L, ops
from tinygrad_loss import _validate as V
from tinygrad_loss.autograd import name_scope
from tinygrad_loss.ops import _mean_np


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# --- mean's forward: np.add.reduce and a divide, bit for bit np.mean -------------------------------

def _arrays():
    rng = np.random.default_rng(3)
    for dt in (np.float16, np.float32, np.float64, np.dtype(">f4"), np.int64, np.bool_):
        for shape in [(), (1,), (7,), (3, 5), (32, 10), (2, 3, 4), (1000,), (3, 0, 2)]:
            x = rng.standard_normal(shape) * rng.choice([1e-3, 1.0, 5e3], size=shape)
            yield np.asarray(x).astype(dt)


@pytest.mark.parametrize("x", list(_arrays()), ids=lambda x: f"{x.dtype}{x.shape}")
def test_mean_forward_is_np_mean_bit_for_bit(x):
    nd = x.ndim
    axis_sets = [tuple(range(nd))] + [(a,) for a in range(nd)] + list(itertools.combinations(range(nd), 2))
    for axes in axis_sets:
        for keepdims in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (np.mean's empty-slice warning on the (3, 0, 2) case)
                want = np.mean(x, axis=axes, keepdims=keepdims)
                got = _mean_np(x, axes, keepdims)
            assert type(got) is type(want)  # a NumPy scalar for a full reduction, as np.mean gives
            _same_bits(got, want)


def test_mean_op_of_float32_rounds_like_numpy_not_in_float32():
    # a float32 sum divided by the count: NumPy divides in float64 and rounds back once; the op gives the same
    x = np.random.default_rng(0).standard_normal((33, 7)).astype(np.float32) * 1e3
    for axis in (None, 0, 1, (0, 1)):
        _same_bits(ops.mean(Tensor(x), axis=axis).data, np.mean(x, axis=axis))
    _same_bits(ops.mean(Tensor(x.astype(np.float16)), axis=1).data, np.mean(x.astype(np.float16), axis=1))


def test_mean_gradient_matches_finite_differences():
    x = np.random.default_rng(1).standard_normal((4, 5))
    for axis in (None, 0, (0, 1), -1):
        assert gradcheck(lambda t: ops.mean(t, axis=axis), x).ok


# --- log_softmax / softmax / logsumexp: the shift's finiteness test ----------------------------------

def _log_softmax_reference(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # rows with inf/nan or all -inf are not shifted
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_log_softmax_rows_with_non_finite_values(dtype):
    x = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0], [np.nan, 0.0, 1.0],
                  [-np.inf, 0.0, 5.0], [-0.0, 0.0, -0.0]], dtype=dtype)
    with np.errstate(all="ignore"):
        _same_bits(ops.log_softmax(Tensor(x), axis=-1).data, _log_softmax_reference(x, -1))
        _same_bits(ops.log_softmax(Tensor(x), axis=0).data, _log_softmax_reference(x, 0))
        m = np.max(x, axis=-1, keepdims=True)
        e = np.exp(x - np.where(np.isfinite(m), m, 0))
        _same_bits(ops.softmax(Tensor(x), axis=-1).data, e / np.sum(e, axis=-1, keepdims=True))


def test_log_softmax_gradient_matches_finite_differences():
    x = np.random.default_rng(2).standard_normal((3, 4)) * 3
    assert gradcheck(lambda t: ops.log_softmax(t, axis=-1), x).ok
    assert gradcheck(lambda t: ops.logsumexp(t, axis=(0, 1)), x).ok


# --- V.axis: the int fast path gives what the general test gives ----------------------------------

def test_axis_fast_path_and_refusals():
    for nd in range(0, 4):
        for ax in range(-nd - 1, nd + 1):
            if -max(nd, 1) <= ax < max(nd, 1):
                assert V.axis("f", ax, nd) == ax % max(nd, 1) == V.axis("f", np.int64(ax), nd)
            else:
                with pytest.raises(ValueError, match=f"f: axis {ax} is out of range for a tensor with {nd} dim"):
                    V.axis("f", ax, nd)
    with pytest.raises(TypeError, match="f: axis must be an int, got True"):
        V.axis("f", True, 2)
    with pytest.raises(TypeError, match="softmax: axis must be an int"):
        ops.softmax(Tensor(np.ones((2, 3))), axis=1.0)


# --- the loss call: one scope, the default reduction inline, y_true's checks ---------------------------

def _cases():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((32, 10)).astype(np.float32)
    lab = rng.integers(0, 10, size=32)
    onehot = np.eye(10, dtype=np.float32)[lab]
    soft = rng.dirichlet(np.ones(10), size=32).astype(np.float32)
    bits = (rng.random((32, 10)) > 0.5).astype(np.float32)
    return [
        (L.CategoricalCrossentropy(from_logits=True), onehot, z),
        (L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), soft, z),
        (L.CategoricalCrossentropy(), onehot, soft),
        (L.MeanSquaredError(), z * 0.5, z),
        (L.BinaryCrossentropy(from_logits=True), bits, z),
        (L.BinaryCrossentropy(), bits, 1 / (1 + np.exp(-z))),
        (L.SparseCategoricalCrossentropy(from_logits=True), lab, z),
        (L.Huber(reduction="sum"), z * 0.3, z),
    ]


def _call_and_grad(loss, yt, yp, sample_weight=None):
    x = Tensor(yp, requires_grad=True)
    out = loss(yt, x, sample_weight=sample_weight)
    out.backward()
    return out, x.grad.data


@pytest.mark.parametrize("case", _cases(), ids=lambda c: type(c[0]).__name__)
@pytest.mark.parametrize("weighted", [False, True])
def test_one_scope_call_is_the_general_call(case, weighted):
    loss, yt, yp = case
    assert loss._one_scope
    sw = np.linspace(0.5, 1.5, 32) if weighted else None
    fast, g_fast = _call_and_grad(loss, yt, yp, sw)
    loss._one_scope = False  # the instance runs Loss.__call__ and the function's own scope
    try:
        slow, g_slow = _call_and_grad(loss, yt, yp, sw)
    finally:
        del loss._one_scope
    _same_bits(fast.data, slow.data)
    _same_bits(g_fast, g_slow)
    assert fast.scope == slow.scope == type(loss).__name__

    def shape_of(t, seen):  # every node's op and scope, parents first
        if id(t) in seen:
            return []
        seen.add(id(t))
        rows = [r for p in t._parents for r in shape_of(p, seen)]
        return rows + [(t._op.name if t._op else None, t.scope)]

    assert shape_of(fast, set()) == shape_of(slow, set())
    assert {s for op, s in shape_of(fast, set()) if op} == {type(loss).__name__}


def test_one_scope_inside_an_outer_scope_and_for_subclasses():
    z = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    with name_scope("model"):
        out = L.CategoricalCrossentropy(from_logits=True)(y, Tensor(z, requires_grad=True))
    assert out.scope == "model/CategoricalCrossentropy"

    class MyCE(L.CategoricalCrossentropy):
        pass

    class Renamed(L.CategoricalCrossentropy):
        @property
        def scope_name(self):
            return "Other"

    assert not MyCE._one_scope and not Renamed._one_scope and L.CategoricalCrossentropy._one_scope
    assert not L.RootMeanSquaredError._one_scope
    mine = MyCE(from_logits=True)(y, Tensor(z, requires_grad=True))
    assert mine.scope == "MyCE" and mine._parents[0].scope == "MyCE/CategoricalCrossentropy"
    assert Renamed(from_logits=True)(y, Tensor(z, requires_grad=True)).scope == "Other"
    _same_bits(mine.data, out.data)


@pytest.mark.parametrize("loss", [L.CategoricalCrossentropy(from_logits=True), L.BinaryCrossentropy(from_logits=True),
                                  L.BinaryCrossentropy(), L.CategoricalCrossentropy()])
def test_loss_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(6)
    y = np.eye(4)[rng.integers(0, 4, size=5)]
    p = rng.uniform(0.1, 0.9, (5, 4))
    assert gradcheck(lambda t: loss(y, t), p).ok


def test_sparse_and_mse_gradients_match_finite_differences():
    rng = np.random.default_rng(7)
    z, lab = rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
    assert gradcheck(lambda t: L.SparseCategoricalCrossentropy(from_logits=True)(lab, t), z).ok
    assert gradcheck(lambda t: L.MeanSquaredError()(z * 0.5, t), z).ok


# y_true in [0, 1] is proven finite by its extremes: the other cases still raise what they raised, in order

_Y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
_Z = np.random.default_rng(8).standard_normal((4, 3)).astype(np.float32)


def _with(value, at=(1, 2), shape=None):
    y = _Y.copy()
    y[at] = value
    return y if shape is None else y.reshape(shape)


@pytest.mark.parametrize("cls", [L.CategoricalCrossentropy, L.BinaryCrossentropy, L.CategoricalFocalCrossentropy,
                                 L.BinaryFocalCrossentropy])
@pytest.mark.parametrize("from_logits", [True, False])
def test_y_true_refusals_keep_their_messages(cls, from_logits):
    loss = cls(from_logits=from_logits)
    yp = _Z if from_logits else np.full((4, 3), 1 / 3, np.float32)
    name = cls.__name__
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=rf"^{name}: y_true contains a non-finite value \({bad!r} at index "
                                             r"\(1, 2\)\)$"):
            loss(_with(bad), yp)
        # before the shape check, as before: a NaN y_true of the wrong shape is reported as non-finite
        with pytest.raises(ValueError, match=rf"^{name}: y_true contains a non-finite value"):
            loss(_with(bad, at=(1, 0))[:, :2], yp)
    for bad in (1.5, -0.25, 1.0000001):
        with pytest.raises(ValueError, match=rf"^{name}: y_true must be in \[0.0, 1.0\], got {np.float32(bad).item()!r}"
                                             r" at index \(1, 2\)$"):
            loss(_with(bad), yp)
        with pytest.raises(ValueError, match=rf"^{name}: y_true has shape \(4, 2\) but y_pred has shape \(4, 3\)"):
            loss(_with(bad, at=(1, 0))[:, :2], yp)  # shapes before the range, as before
    with pytest.raises(ValueError, match=rf"^{name}: y_true is empty \(shape \(0, 3\)\)$"):
        loss(np.zeros((0, 3), np.float32), yp)
    with pytest.raises(ValueError, match=rf"^{name}: y_pred contains a non-finite value"):
        loss(_with(np.nan), np.where(np.eye(4, 3) > 0, np.nan, yp))  # y_pred's check comes first
    # the edges of the range pass: -0.0 and 1.0, in every float dtype
    for dt in (np.float16, np.float32, np.float64):
        y = _Y.astype(dt)
        y[0, 1] = -0.0
        assert np.isfinite(loss(y, yp.astype(dt)).item())


def test_function_form_refusals_and_warning_point_at_the_caller(monkeypatch):
    with pytest.raises(ValueError, match=r"^categorical_crossentropy: y_true contains a non-finite value"):
        L.categorical_crossentropy(_with(np.nan), _Z, from_logits=True)
    with pytest.raises(ValueError, match=r"^categorical_crossentropy: y_true must be in \[0.0, 1.0\]"):
        L.categorical_crossentropy(_with(2.0), _Z, from_logits=True)
    monkeypatch.setattr(L, "_WARNED", set())
    probs, onehot = np.array([[0.7, 0.2, 0.1]]), np.array([[1.0, 0.0, 0.0]])
    with pytest.warns(L.ArgumentOrderWarning) as record:
        L.categorical_crossentropy(probs, onehot)
    assert record[0].filename == __file__
    monkeypatch.setattr(L, "_WARNED", set())
    with pytest.warns(L.ArgumentOrderWarning) as record:
        L.LossFunctionWrapper(L.binary_crossentropy)(probs, onehot)
    assert record[0].filename == __file__


def test_value_of_the_fast_call_against_numpy():
    z = _Z.astype(np.float64)
    want = np.mean(-np.sum(_Y * (z - z.max(-1, keepdims=True)
                                 - np.log(np.sum(np.exp(z - z.max(-1, keepdims=True)), -1, keepdims=True))), -1))
    got = L.CategoricalCrossentropy(from_logits=True)(_Y.astype(np.float64), z).item()
    assert got == pytest.approx(want, rel=1e-12)
    assert tg.losses.MeanSquaredError()(z * 0.0, z).item() == pytest.approx(np.mean(z * z), rel=1e-12)


# --- sparse labels: the range test by one unsigned comparison, the row indices made once per shape ---

@pytest.mark.parametrize("bad", [-1, 3, 10**6, -(2**40)])
def test_sparse_label_out_of_range_still_refused(bad):
    z = np.zeros((4, 3), np.float32)
    lab = np.array([0, 1, bad, 2])
    with pytest.raises(ValueError, match=rf"^SparseCategoricalCrossentropy: class label {bad} is out of range for "
                                         r"y_pred with 3 classes \(labels must be in \[0, 2\]\)$"):
        L.SparseCategoricalCrossentropy(from_logits=True)(lab, z)
    # an ignored class outside the range is not refused (its rows are replaced by 0)
    out = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=bad)(lab, z)
    assert out.item() == pytest.approx(np.log(3.0), rel=1e-6)


def test_sparse_row_indices_are_shared_and_read_only():
    rng = np.random.default_rng(9)
    z, lab = rng.standard_normal((6, 5)), rng.integers(0, 5, size=6)
    x = Tensor(z, requires_grad=True)
    first = L.SparseCategoricalCrossentropy(from_logits=True)(lab, x)
    pick = first._parents[0]._parents[0]
    assert pick._op.name == "getitem"
    idx = pick._saved["index"]
    first.backward()
    g_first = x.grad.data.copy()
    assert not idx[0].flags.writeable
    with pytest.raises(ValueError):
        idx[0][0] = 1
    x.grad = None
    again = L.SparseCategoricalCrossentropy(from_logits=True)(lab, x)
    again.backward()
    _same_bits(again.data, first.data)
    _same_bits(x.grad.data, g_first)
    logp = z - z.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    assert again.item() == pytest.approx(-logp[np.arange(6), lab].mean(), rel=1e-12)
