"""Tests for tinygrad_loss.losses.

Every expected number here comes from an independent source: a NumPy reference written
below from the published formula (value *and* gradient), Keras's documented worked
examples, or central finite differences (gradcheck). Nothing is copied from the code
under test.
"""
from __future__ import annotations

import pathlib
import re
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_loss as tl
from tinygrad_loss import losses as L
from tinygrad_loss import ops
from tinygrad_loss.gradcheck import gradcheck

EPS = 1e-7
ROOT = pathlib.Path(__file__).resolve().parents[1]


# --- independent NumPy references: per-sample value and d(value)/d(y_pred) ------------------

def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def ref_mse(yt, yp):
    k = yp.shape[-1]
    return np.mean((yt - yp) ** 2, -1), 2 * (yp - yt) / k


def ref_mae(yt, yp):
    k = yp.shape[-1]
    return np.mean(np.abs(yt - yp), -1), np.sign(yp - yt) / k


def ref_mape(yt, yp):
    k = yp.shape[-1]
    den = np.maximum(np.abs(yt), EPS)
    return 100 * np.mean(np.abs(yt - yp) / den, -1), 100 * np.sign(yp - yt) / den / k


def ref_msle(yt, yp):  # inputs kept above EPS, so the max(., EPS) guard is inactive
    k = yp.shape[-1]
    d = np.log1p(yp) - np.log1p(yt)
    return np.mean(d ** 2, -1), 2 * d / (1 + yp) / k


def ref_huber(yt, yp, delta=1.0):
    k = yp.shape[-1]
    x = yp - yt
    val = np.where(np.abs(x) <= delta, 0.5 * x ** 2, delta * (np.abs(x) - 0.5 * delta))
    grad = np.where(np.abs(x) <= delta, x, delta * np.sign(x))
    return val.mean(-1), grad / k


def ref_logcosh(yt, yp):
    k = yp.shape[-1]
    x = yp - yt
    return np.mean(np.log(np.cosh(x)), -1), np.tanh(x) / k


def ref_bce(yt, yp, label_smoothing=0.0):
    k = yp.shape[-1]
    z = yt * (1 - label_smoothing) + 0.5 * label_smoothing
    p = np.clip(yp, EPS, 1 - EPS)
    val = -(z * np.log(p) + (1 - z) * np.log(1 - p))
    return val.mean(-1), (p - z) / (p * (1 - p)) / k


def ref_bce_logits(yt, x, label_smoothing=0.0):
    k = x.shape[-1]
    z = yt * (1 - label_smoothing) + 0.5 * label_smoothing
    # -z log σ(x) - (1-z) log(1-σ(x)), with log σ(x) = -logaddexp(0, -x)
    val = z * np.logaddexp(0, -x) + (1 - z) * np.logaddexp(0, x)
    return val.mean(-1), (_sigmoid(x) - z) / k


def ref_cce(yt, yp, label_smoothing=0.0):
    c = yp.shape[-1]
    y = yt * (1 - label_smoothing) + label_smoothing / c
    s = yp.sum(-1, keepdims=True)
    q = yp / s  # inputs keep q inside [EPS, 1-EPS], so the clip is inactive
    val = -np.sum(y * np.log(q), -1)
    grad = -y / yp + y.sum(-1, keepdims=True) / s
    return val, grad


def ref_cce_logits(yt, x, label_smoothing=0.0):
    c = x.shape[-1]
    y = yt * (1 - label_smoothing) + label_smoothing / c
    m = x.max(-1, keepdims=True)
    logp = x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))
    return -np.sum(y * logp, -1), _softmax(x) * y.sum(-1, keepdims=True) - y


def _one_hot(labels, c):
    return np.eye(c)[np.asarray(labels, dtype=int)]


def ref_scce(labels, yp):
    return ref_cce(_one_hot(labels, yp.shape[-1]), yp)


def ref_scce_logits(labels, x):
    return ref_cce_logits(_one_hot(labels, x.shape[-1]), x)


def ref_kld(yt, yp):  # y_pred inside (EPS, 1): its clip is inactive
    t = np.clip(yt, EPS, 1)
    return np.sum(t * np.log(t / yp), -1), -t / yp


def ref_poisson(yt, yp):
    k = yp.shape[-1]
    return np.mean(yp - yt * np.log(yp + EPS), -1), (1 - yt / (yp + EPS)) / k


def _pm1(yt):
    return 2 * yt - 1 if np.all((yt == 0) | (yt == 1)) else yt


def ref_hinge(yt, yp):
    k = yp.shape[-1]
    y = _pm1(yt)
    m = 1 - y * yp
    return np.mean(np.maximum(m, 0), -1), np.where(m > 0, -y, 0.0) / k


def ref_squared_hinge(yt, yp):
    k = yp.shape[-1]
    y = _pm1(yt)
    m = np.maximum(1 - y * yp, 0)
    return np.mean(m ** 2, -1), -2 * y * m / k


def ref_categorical_hinge(yt, yp):
    pos = np.sum(yt * yp, -1)
    other = (1 - yt) * yp
    neg = other.max(-1)
    val = np.maximum(neg - pos + 1, 0)
    hot = np.zeros_like(yp)
    np.put_along_axis(hot, other.argmax(-1)[..., None], 1.0, -1)
    grad = np.where((neg - pos + 1 > 0)[..., None], (1 - yt) * hot - yt, 0.0)
    return val, grad


def ref_cosine(yt, yp):
    na = np.linalg.norm(yt, axis=-1, keepdims=True)
    nb = np.linalg.norm(yp, axis=-1, keepdims=True)
    dot = np.sum(yt * yp, -1, keepdims=True)
    val = -(dot / (na * nb))[..., 0]
    grad = -(yt / (na * nb) - dot * yp / (na * nb ** 3))
    return val, grad


# --- test data ------------------------------------------------------------------------------

def _data(kind, rng, shape=(4, 3)):
    n, c = shape
    if kind == "real":
        return rng.normal(size=shape), rng.normal(size=shape)
    if kind == "wide":  # errors on both sides of Huber's delta
        return rng.normal(size=shape), 2.5 * rng.normal(size=shape)
    if kind == "nonzero":
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape), rng.normal(size=shape)
    if kind == "positive":
        return rng.uniform(0.1, 3.0, shape), rng.uniform(0.1, 3.0, shape)
    if kind == "counts":
        return rng.integers(0, 5, shape).astype(float), rng.uniform(0.2, 3.0, shape)
    if kind == "binary_probs":
        return rng.integers(0, 2, shape).astype(float), rng.uniform(0.05, 0.95, shape)
    if kind == "soft_probs":
        return rng.uniform(0, 1, shape), rng.uniform(0.05, 0.95, shape)
    if kind == "binary_logits":
        return rng.integers(0, 2, shape).astype(float), 3 * rng.normal(size=shape)
    if kind == "onehot_probs":
        return _one_hot(rng.integers(0, c, n), c), _softmax(rng.normal(size=shape))
    if kind == "onehot_logits":
        return _one_hot(rng.integers(0, c, n), c), 3 * rng.normal(size=shape)
    if kind == "labels_probs":
        return rng.integers(0, c, n), _softmax(rng.normal(size=shape))
    if kind == "labels_logits":
        return rng.integers(0, c, n), 3 * rng.normal(size=shape)
    if kind == "distributions":
        return _softmax(rng.normal(size=shape)), _softmax(rng.normal(size=shape))
    if kind == "pm1":
        return rng.choice([-1.0, 1.0], shape), rng.normal(size=shape)
    if kind == "01":
        return rng.integers(0, 2, shape).astype(float), rng.normal(size=shape)
    raise KeyError(kind)


# (id, class, class kwargs, function, function kwargs, data kind, reference, y_true differentiable)
CASES = [
    ("mse", L.MeanSquaredError, {}, L.mean_squared_error, {}, "real", ref_mse, True),
    ("mae", L.MeanAbsoluteError, {}, L.mean_absolute_error, {}, "real", ref_mae, True),
    ("mape", L.MeanAbsolutePercentageError, {}, L.mean_absolute_percentage_error, {}, "nonzero", ref_mape, True),
    ("msle", L.MeanSquaredLogarithmicError, {}, L.mean_squared_logarithmic_error, {}, "positive", ref_msle, True),
    ("huber", L.Huber, {}, L.huber, {}, "wide", ref_huber, True),
    ("huber_delta", L.Huber, {"delta": 0.7}, L.huber, {"delta": 0.7}, "wide",
     lambda t, p: ref_huber(t, p, 0.7), True),
    ("log_cosh", L.LogCosh, {}, L.log_cosh, {}, "wide", ref_logcosh, True),
    ("bce", L.BinaryCrossentropy, {}, L.binary_crossentropy, {}, "binary_probs", ref_bce, True),
    ("bce_soft_smooth", L.BinaryCrossentropy, {"label_smoothing": 0.2}, L.binary_crossentropy,
     {"label_smoothing": 0.2}, "soft_probs", lambda t, p: ref_bce(t, p, 0.2), True),
    ("bce_logits", L.BinaryCrossentropy, {"from_logits": True}, L.binary_crossentropy, {"from_logits": True},
     "binary_logits", ref_bce_logits, True),
    ("bce_logits_smooth", L.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1},
     L.binary_crossentropy, {"from_logits": True, "label_smoothing": 0.1}, "binary_logits",
     lambda t, p: ref_bce_logits(t, p, 0.1), True),
    ("cce", L.CategoricalCrossentropy, {}, L.categorical_crossentropy, {}, "onehot_probs", ref_cce, True),
    ("cce_smooth", L.CategoricalCrossentropy, {"label_smoothing": 0.3}, L.categorical_crossentropy,
     {"label_smoothing": 0.3}, "onehot_probs", lambda t, p: ref_cce(t, p, 0.3), True),
    ("cce_logits", L.CategoricalCrossentropy, {"from_logits": True}, L.categorical_crossentropy,
     {"from_logits": True}, "onehot_logits", ref_cce_logits, True),
    ("cce_logits_smooth", L.CategoricalCrossentropy, {"from_logits": True, "label_smoothing": 0.1},
     L.categorical_crossentropy, {"from_logits": True, "label_smoothing": 0.1}, "onehot_logits",
     lambda t, p: ref_cce_logits(t, p, 0.1), True),
    ("scce", L.SparseCategoricalCrossentropy, {}, L.sparse_categorical_crossentropy, {}, "labels_probs",
     ref_scce, False),
    ("scce_logits", L.SparseCategoricalCrossentropy, {"from_logits": True}, L.sparse_categorical_crossentropy,
     {"from_logits": True}, "labels_logits", ref_scce_logits, False),
    ("kld", L.KLDivergence, {}, L.kl_divergence, {}, "distributions", ref_kld, True),
    ("poisson", L.Poisson, {}, L.poisson, {}, "counts", ref_poisson, True),
    ("hinge", L.Hinge, {}, L.hinge, {}, "pm1", ref_hinge, False),
    ("hinge_01", L.Hinge, {}, L.hinge, {}, "01", ref_hinge, False),
    ("squared_hinge", L.SquaredHinge, {}, L.squared_hinge, {}, "pm1", ref_squared_hinge, False),
    ("squared_hinge_01", L.SquaredHinge, {}, L.squared_hinge, {}, "01", ref_squared_hinge, False),
    ("categorical_hinge", L.CategoricalHinge, {}, L.categorical_hinge, {}, "onehot_logits",
     ref_categorical_hinge, False),
    ("cosine", L.CosineSimilarity, {}, L.cosine_similarity, {}, "real", ref_cosine, True),
]
CASE_IDS = [c[0] for c in CASES]
REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"]


def _reduce_ref(vals, grads, w, reduction):
    """Reference reduction of per-sample values/gradients (w: per-sample weights or None)."""
    n = vals.shape[0]
    ww = np.ones(n) if w is None else w
    weighted = vals * ww
    if reduction == "none":
        return weighted, grads * ww[:, None]  # gradient of Σ(output) for the 'none' case
    total = weighted.sum()
    if reduction == "sum":
        return total, grads * ww[:, None]
    denom = n if (reduction == "sum_over_batch_size" or w is None) else ww.sum()
    return total / denom, grads * ww[:, None] / denom


# --- value and gradient against the references ------------------------------------------------

@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-6), (np.float32, 1e-5)], ids=["f64", "f32"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_value_and_gradient_match_numpy_reference(case, reduction, weighted, dtype, rtol):
    _, cls, kw, _, _, kind, ref, _ = case
    rng = np.random.default_rng(zlib.crc32(f"{case[0]}/{reduction}/{weighted}".encode()))
    yt, yp = _data(kind, rng)
    w = rng.uniform(0.2, 2.0, yp.shape[0]) if weighted else None
    vals, grads = ref(yt, yp)
    exp_val, exp_grad = _reduce_ref(vals, grads, w, reduction)

    pred = tl.Tensor(yp.astype(dtype), requires_grad=True)
    true = yt.astype(dtype) if yt.dtype.kind == "f" else yt
    out = cls(reduction=reduction, **kw)(true, pred, sample_weight=None if w is None else w.astype(dtype))
    assert out.dtype == dtype
    assert out.shape == np.shape(exp_val)
    np.testing.assert_allclose(out.numpy(), exp_val, rtol=rtol, atol=rtol)
    out.sum().backward() if out.ndim else out.backward()
    assert pred.grad.shape == yp.shape
    np.testing.assert_allclose(pred.grad.numpy(), exp_grad, rtol=rtol * 10, atol=rtol)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_function_form_returns_per_sample_values(case):
    _, _, _, fn, fkw, kind, ref, _ = case
    yt, yp = _data(kind, np.random.default_rng(7), shape=(5, 4))
    out = fn(yt, yp, **fkw)
    assert out.shape == (5,)
    np.testing.assert_allclose(out.numpy(), ref(yt, yp)[0], rtol=1e-6, atol=1e-7)


def test_per_sample_values_over_extra_axes():
    # (batch, time, features): the loss reduces the last axis only, as in Keras
    rng = np.random.default_rng(3)
    yt, yp = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    out = L.MeanSquaredError(reduction="none")(yt, yp)
    np.testing.assert_allclose(out.numpy(), np.mean((yt - yp) ** 2, -1), rtol=1e-12)
    w = rng.uniform(size=(2, 3))
    out = L.MeanSquaredError()(yt, yp, sample_weight=w)
    np.testing.assert_allclose(out.item(), np.sum(np.mean((yt - yp) ** 2, -1) * w) / 6, rtol=1e-12)


# --- the two formulas the project started from ----------------------------------------------

def test_mse_is_one_over_n_sum_of_squares():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    y_hat = np.array([1.5, 1.0, 3.0, 6.0])
    n = len(y)
    expected = sum((y[i] - y_hat[i]) ** 2 for i in range(n)) / n  # MSE = 1/n Σ (y_i − ŷ_i)²
    pred = tl.Tensor(y_hat.reshape(n, 1), requires_grad=True)
    loss = L.MeanSquaredError()(y, pred)  # (n,) against (n, 1): n samples, as in Keras
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(pred.grad.numpy().ravel(), 2 * (y_hat - y) / n, rtol=1e-12)


def test_ce_is_minus_one_over_n_sum_of_y_log_yhat():
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    y_hat = np.array([[0.7, 0.2, 0.1], [0.25, 0.25, 0.5], [0.1, 0.6, 0.3]])
    n = len(y)
    expected = -sum(y[i, j] * np.log(y_hat[i, j]) for i in range(n) for j in range(3)) / n
    pred = tl.Tensor(y_hat, requires_grad=True)
    loss = L.CategoricalCrossentropy()(y, pred)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    loss.backward()
    # rows sum to 1, so the renormalisation's gradient term is Σ_j y_ij / n
    np.testing.assert_allclose(pred.grad.numpy(), (-y / y_hat + 1.0) / n, rtol=1e-12)
    assert L.SparseCategoricalCrossentropy()([0, 2, 1], y_hat).item() == pytest.approx(expected, rel=1e-12)


# --- Keras documentation worked examples ----------------------------------------------------
# Source: the docstrings of keras-team/keras keras/losses.py (Keras 2.x, also shown on
# tensorflow.org/api_docs/python/tf/keras/losses/*) and keras/src/losses/losses.py (Keras 3).
# Keras prints float32 results rounded to 3-4 digits, hence the tolerance.

A = [[0.0, 1.0], [0.0, 0.0]]
B = [[1.0, 1.0], [1.0, 0.0]]
P = [[0.6, 0.4], [0.4, 0.6]]
C_TRUE = [[0, 1, 0], [0, 0, 1]]
C_PRED = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
LOGITS = [[-18.6, 0.51], [2.94, -12.8]]
KERAS_DOCS = [
    # (loss factory, y_true, y_pred, sample_weight, expected)
    (lambda r: L.MeanSquaredError(reduction=r), A, B, None, {"sum_over_batch_size": 0.5, "sum": 1.0,
                                                              "none": [0.5, 0.5]}),
    (lambda r: L.MeanSquaredError(reduction=r), A, B, [0.7, 0.3], {"sum_over_batch_size": 0.25}),
    (lambda r: L.MeanAbsoluteError(reduction=r), A, B, None, {"sum_over_batch_size": 0.5, "sum": 1.0,
                                                               "none": [0.5, 0.5]}),
    (lambda r: L.MeanAbsoluteError(reduction=r), A, B, [0.7, 0.3], {"sum_over_batch_size": 0.25}),
    (lambda r: L.MeanAbsolutePercentageError(reduction=r), [[2.0, 1.0], [2.0, 3.0]], B, None,
     {"sum_over_batch_size": 50.0, "sum": 100.0, "none": [25.0, 75.0]}),
    (lambda r: L.MeanAbsolutePercentageError(reduction=r), [[2.0, 1.0], [2.0, 3.0]], B, [0.7, 0.3],
     {"sum_over_batch_size": 20.0}),
    (lambda r: L.MeanSquaredLogarithmicError(reduction=r), A, B, None,
     {"sum_over_batch_size": 0.240, "sum": 0.480, "none": [0.240, 0.240]}),
    (lambda r: L.MeanSquaredLogarithmicError(reduction=r), A, B, [0.7, 0.3], {"sum_over_batch_size": 0.120}),
    (lambda r: L.Huber(reduction=r), [[0, 1], [0, 0]], P, None,
     {"sum_over_batch_size": 0.155, "sum": 0.31, "none": [0.18, 0.13]}),
    (lambda r: L.Huber(reduction=r), [[0, 1], [0, 0]], P, [1, 0], {"sum_over_batch_size": 0.09}),
    (lambda r: L.LogCosh(reduction=r), A, [[1.0, 1.0], [0.0, 0.0]], None,
     {"sum_over_batch_size": 0.108, "sum": 0.217, "none": [0.217, 0.0]}),
    (lambda r: L.LogCosh(reduction=r), A, [[1.0, 1.0], [0.0, 0.0]], [0.8, 0.2], {"sum_over_batch_size": 0.087}),
    (lambda r: L.KLDivergence(reduction=r), [[0, 1], [0, 0]], P, None,
     {"sum_over_batch_size": 0.458, "sum": 0.916, "none": [0.916, -3.08e-06]}),
    (lambda r: L.KLDivergence(reduction=r), [[0, 1], [0, 0]], P, [0.8, 0.2], {"sum_over_batch_size": 0.366}),
    (lambda r: L.Poisson(reduction=r), A, [[1.0, 1.0], [0.0, 0.0]], None,
     {"sum_over_batch_size": 0.5, "sum": 0.999, "none": [0.999, 0.0]}),
    (lambda r: L.Poisson(reduction=r), A, [[1.0, 1.0], [0.0, 0.0]], [0.8, 0.2], {"sum_over_batch_size": 0.4}),
    (lambda r: L.Hinge(reduction=r), A, P, None, {"sum_over_batch_size": 1.3, "sum": 2.6, "none": [1.1, 1.5]}),
    (lambda r: L.Hinge(reduction=r), A, P, [1, 0], {"sum_over_batch_size": 0.55}),
    (lambda r: L.SquaredHinge(reduction=r), A, P, None,
     {"sum_over_batch_size": 1.86, "sum": 3.72, "none": [1.46, 2.26]}),
    (lambda r: L.SquaredHinge(reduction=r), A, P, [1, 0], {"sum_over_batch_size": 0.73}),
    (lambda r: L.CategoricalHinge(reduction=r), [[0, 1], [0, 0]], P, None,
     {"sum_over_batch_size": 1.4, "sum": 2.8, "none": [1.2, 1.6]}),
    (lambda r: L.CategoricalHinge(reduction=r), [[0, 1], [0, 0]], P, [1, 0], {"sum_over_batch_size": 0.6}),
    (lambda r: L.CosineSimilarity(axis=1, reduction=r), [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]], None,
     {"sum_over_batch_size": -0.5, "sum": -0.999, "none": [-0.0, -0.999]}),
    (lambda r: L.CosineSimilarity(axis=1, reduction=r), [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]],
     [0.8, 0.2], {"sum_over_batch_size": -0.0999}),
    (lambda r: L.BinaryCrossentropy(from_logits=True, reduction=r), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8],
     None, {"sum_over_batch_size": 0.865}),
    (lambda r: L.BinaryCrossentropy(from_logits=True, reduction=r), [[0, 1], [0, 0]], LOGITS, None,
     {"sum_over_batch_size": 0.865, "sum": 1.730, "none": [0.235, 1.496]}),
    (lambda r: L.BinaryCrossentropy(from_logits=True, reduction=r), [[0, 1], [0, 0]], LOGITS, [0.8, 0.2],
     {"sum_over_batch_size": 0.243}),
    (lambda r: L.CategoricalCrossentropy(reduction=r), C_TRUE, C_PRED, None,
     {"sum_over_batch_size": 1.177, "sum": 2.354, "none": [0.0513, 2.303]}),
    (lambda r: L.CategoricalCrossentropy(reduction=r), C_TRUE, C_PRED, [0.3, 0.7], {"sum_over_batch_size": 0.814}),
    (lambda r: L.SparseCategoricalCrossentropy(reduction=r), [1, 2], C_PRED, None,
     {"sum_over_batch_size": 1.177, "sum": 2.354, "none": [0.0513, 2.303]}),
    (lambda r: L.SparseCategoricalCrossentropy(reduction=r), [1, 2], C_PRED, [0.3, 0.7],
     {"sum_over_batch_size": 0.814}),
]
KERAS_DOC_PARAMS = [(make, yt, yp, w, red, exp) for make, yt, yp, w, table in KERAS_DOCS
                    for red, exp in table.items()]


@pytest.mark.parametrize("make,y_true,y_pred,sample_weight,reduction,expected", KERAS_DOC_PARAMS)
def test_keras_documentation_examples(make, y_true, y_pred, sample_weight, reduction, expected):
    loss = make(reduction)
    out = loss(y_true, y_pred, sample_weight=sample_weight)
    assert out.dtype == np.float32  # Keras's default float type, like ours for lists
    np.testing.assert_allclose(out.numpy(), expected, rtol=2e-3, atol=1e-3 if np.ndim(expected) else 5e-4)


def test_keras_doc_function_examples():
    # keras/src/losses/losses.py function docstrings
    np.testing.assert_allclose(L.binary_crossentropy([[0, 1], [0, 0]], P).numpy(), [0.916, 0.714], atol=5e-4)
    np.testing.assert_allclose(L.categorical_crossentropy(C_TRUE, C_PRED).numpy(), [0.0513, 2.303], atol=5e-4)
    np.testing.assert_allclose(L.sparse_categorical_crossentropy([1, 2], C_PRED).numpy(), [0.0513, 2.303],
                               atol=5e-4)
    np.testing.assert_allclose(L.cosine_similarity([[0., 1.], [1., 1.], [1., 1.]], [[1., 0.], [1., 1.], [-1., -1.]])
                               .numpy(), [0.0, -1.0, 1.0], atol=1e-6)
    # BinaryCrossentropy with probabilities: the binary_crossentropy example averaged over the batch
    assert L.BinaryCrossentropy()([[0, 1], [0, 0]], P).item() == pytest.approx((0.916 + 0.714) / 2, abs=1e-3)


# --- every loss is a graph of primitive ops under its own name scope ----------------------------

def _graph(root):
    seen, stack, nodes = set(), [root], []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        nodes.append(t)
        stack.extend(t.parents)
    return nodes


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_graph_is_primitive_ops_under_the_loss_scope(case):
    _, cls, kw, fn, fkw, kind, _, _ = case
    yt, yp = _data(kind, np.random.default_rng(0))
    pred = tl.Tensor(yp, requires_grad=True)
    for out, scope in ((cls(**kw)(yt, pred, sample_weight=np.ones(len(yp))), cls.__name__),
                       (fn(yt, pred, **fkw), cls.__name__)):
        nodes = [t for t in _graph(out) if not t.is_leaf]
        assert nodes, "the loss recorded no ops"
        for t in nodes:
            assert t.op in ops.OPS, f"{t.op} is not a primitive op"
            assert t._op is ops.OPS[t.op], "a node's op must be the registered primitive itself"
            assert t.scope.split("/")[0] == scope, f"node {t.op} has scope {t.scope!r}"
        assert any(t is pred for t in _graph(out))


def test_rmse_graph_and_nested_scope():
    pred = tl.Tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    with tl.name_scope("Model"):
        out = L.RootMeanSquaredError()([0.0, 0.0], pred)
    nodes = [t for t in _graph(out) if not t.is_leaf]
    assert all(t.op in ops.OPS for t in nodes)
    assert all(t.scope.startswith("Model/RootMeanSquaredError") for t in nodes)
    assert out.scope == "Model/RootMeanSquaredError"


def test_function_called_by_its_class_does_not_repeat_the_scope():
    out = L.MeanSquaredError()([[1.0, 2.0]], [[0.0, 0.0]])
    assert {t.scope for t in _graph(out) if not t.is_leaf} == {"MeanSquaredError"}


def test_no_loss_defines_its_own_op():
    # the loss module registers no primitive and writes no backward of its own
    import inspect
    src = inspect.getsource(L)
    assert "defop" not in src and "vjp" not in src.lower() and "OPS[" not in src
    assert not any("loss" in name or "entropy" in name for name in ops.OPS)


# --- gradcheck (central differences, float64) -----------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradcheck_wrt_y_pred(case):
    _, cls, kw, _, _, kind, _, _ = case
    yt, yp = _data(kind, np.random.default_rng(11))
    w = np.random.default_rng(12).uniform(0.5, 1.5, len(yp))
    res = gradcheck(lambda p: cls(**kw)(yt, p, sample_weight=w), yp)
    assert res, str(res)


@pytest.mark.parametrize("case", [c for c in CASES if c[7]], ids=[c[0] for c in CASES if c[7]])
def test_gradcheck_wrt_y_true(case):
    _, cls, kw, _, _, kind, _, _ = case
    yt, yp = _data(kind, np.random.default_rng(13))
    if kind in ("binary_probs", "binary_logits", "onehot_probs", "onehot_logits"):
        yt = np.clip(yt, 0.1, 0.9)  # soft labels: the loss is smooth (linear) in y_true inside [0, 1]
    if kind == "distributions":
        yt = np.clip(yt, 1e-3, 1)
    res = gradcheck(lambda t, p: cls(reduction="none", **kw)(t, p), yt, yp)
    assert res, str(res)


def test_gradcheck_rmse():
    rng = np.random.default_rng(5)
    yt, yp = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    for red in ("sum_over_batch_size", "sum", "none"):
        assert gradcheck(lambda t, p: L.RootMeanSquaredError(reduction=red)(t, p), yt, yp)


def test_rmse_value_and_gradient():
    rng = np.random.default_rng(6)
    yt, yp, w = rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), rng.uniform(0.5, 2, 5)
    per = np.mean((yt - yp) ** 2, -1)
    pred = tl.Tensor(yp, requires_grad=True)
    out = L.RootMeanSquaredError()(yt, pred, sample_weight=w)
    expected = np.sqrt(np.sum(w * per) / 5)
    assert out.item() == pytest.approx(expected, rel=1e-12)
    out.backward()
    # d sqrt(M) = dM / (2 sqrt M), dM/dŷ = w_i · 2 (ŷ - y) / (k N) with k = 2 features, N = 5 samples
    np.testing.assert_allclose(pred.grad.numpy(), (w[:, None] * 2 * (yp - yt) / 10) / (2 * expected), rtol=1e-10)
    # the Keras metric's weighted mean: sqrt(Σ w mse / Σ w)
    metric = L.RootMeanSquaredError(reduction="mean_with_sample_weight")(yt, yp, sample_weight=w)
    assert metric.item() == pytest.approx(np.sqrt(np.sum(w * per) / w.sum()), rel=1e-12)
    assert L.RootMeanSquaredError(reduction="sum")(yt, yp, sample_weight=w).item() == \
        pytest.approx(np.sqrt(np.sum(w * per)), rel=1e-12)
    np.testing.assert_allclose(L.RootMeanSquaredError(reduction="none")(yt, yp, sample_weight=w).numpy(),
                               np.sqrt(w * per), rtol=1e-12)
    assert L.root_mean_squared_error(yt, yp).numpy() == pytest.approx(np.sqrt(per), rel=1e-12)
    assert L.get("rmse")(yt, yp).item() == pytest.approx(np.sqrt(per.mean()), rel=1e-12)


# --- numerical stability ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_crossentropy_logits_of_magnitude_1e4(dtype):
    x = np.array([[1e4], [-1e4], [1e4], [-1e4], [0.0], [30.0]], dtype=dtype)
    z = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])
    pred = tl.Tensor(x, requires_grad=True)
    out = L.BinaryCrossentropy(from_logits=True, reduction="none")(z, pred)
    # exact values: softplus(x) - x z
    np.testing.assert_allclose(out.numpy(), [1e4, 1e4, 0.0, 0.0, np.log(2), 30.0 + np.log1p(np.exp(-30.0))],
                               rtol=1e-6)
    out.sum().backward()
    g = pred.grad.numpy().ravel()
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [1.0, -1.0, 0.0, 0.0, -0.5, _sigmoid(30.0)], atol=1e-7)


def test_softplus_kink_gives_the_true_derivative_at_zero():
    # zero-initialised models produce logits that are exactly 0
    pred = tl.Tensor(np.zeros((3, 1)), requires_grad=True)
    L.BinaryCrossentropy(from_logits=True, reduction="sum")([[0.0], [1.0], [0.25]], pred).backward()
    np.testing.assert_allclose(pred.grad.numpy().ravel(), [0.5, -0.5, 0.25], atol=1e-15)
    assert gradcheck(lambda p: L.binary_crossentropy([[0.0], [1.0]], p, from_logits=True), np.zeros((2, 1)))
    pred = tl.Tensor(np.zeros((1, 2)), requires_grad=True)
    L.LogCosh()([[0.0, 0.0]], pred).backward()
    np.testing.assert_array_equal(pred.grad.numpy(), [[0.0, 0.0]])


@pytest.mark.parametrize("sparse", [False, True])
def test_categorical_crossentropy_logits_of_magnitude_1e4(sparse):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, 1e4]])
    labels = np.array([1, 1, 2])
    pred = tl.Tensor(x, requires_grad=True)
    cls = L.SparseCategoricalCrossentropy if sparse else L.CategoricalCrossentropy
    out = cls(from_logits=True, reduction="none")(labels if sparse else _one_hot(labels, 3), pred)
    np.testing.assert_allclose(out.numpy(), [2e4, np.log(2), 0.0], rtol=1e-12, atol=1e-12)
    out.sum().backward()
    expected = _softmax(x) - _one_hot(labels, 3)
    np.testing.assert_allclose(pred.grad.numpy(), expected, atol=1e-12)


def test_log_cosh_for_large_errors():
    x = np.array([[1e4, -1e4, 800.0, 1e-4]])
    pred = tl.Tensor(x, requires_grad=True)
    out = L.log_cosh(np.zeros_like(x), pred)
    # log cosh x = |x| - log 2 + log1p(e^(-2|x|))
    exact = np.abs(x) - np.log(2) + np.log1p(np.exp(-2 * np.abs(x)))
    np.testing.assert_allclose(out.item(), exact.mean(), rtol=1e-12)
    out.backward()
    np.testing.assert_allclose(pred.grad.numpy(), np.tanh(x) / 4, rtol=1e-9)


def test_probability_clipping_matches_keras_epsilon():
    # p = 0 and p = 1 are clipped to [1e-7, 1 - 1e-7]: finite loss, and no gradient through the clip
    pred = tl.Tensor(np.array([[0.0, 1.0]]), requires_grad=True)
    out = L.BinaryCrossentropy()([[1.0, 0.0]], pred)
    assert out.item() == pytest.approx(-np.log(1e-7), rel=1e-6)
    out.backward()
    np.testing.assert_array_equal(pred.grad.numpy(), [[0.0, 0.0]])
    # CCE renormalises rows first: [2, 2] is read as [0.5, 0.5]... but values above 1 are rejected,
    # so use a row that sums to 0.5
    out = L.categorical_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.25, 0.25]]))
    assert out.item() == pytest.approx(np.log(2), rel=1e-12)


def test_cosine_similarity_of_a_zero_vector_is_zero_with_finite_gradient():
    pred = tl.Tensor(np.zeros((1, 3)), requires_grad=True)
    out = L.CosineSimilarity()([[1.0, 2.0, 3.0]], pred)
    assert out.item() == 0.0
    out.backward()
    assert np.all(np.isfinite(pred.grad.numpy()))


# --- shapes: (n,) against (n, 1), and mismatches --------------------------------------------------

@pytest.mark.parametrize("cls", [L.MeanSquaredError, L.MeanAbsoluteError, L.Huber, L.LogCosh, L.Poisson,
                                 L.MeanSquaredLogarithmicError, L.MeanAbsolutePercentageError])
def test_regression_head_n_against_n_by_1(cls):
    rng = np.random.default_rng(1)
    y = rng.uniform(0.5, 2.0, 6)
    pred = tl.Tensor(rng.uniform(0.5, 2.0, (6, 1)), requires_grad=True)
    per = cls(reduction="none")(y, pred)
    assert per.shape == (6,)  # six samples, not a (6, 6) broadcast
    same = cls(reduction="none")(y.reshape(6, 1), pred.detach())
    np.testing.assert_allclose(per.numpy(), same.numpy(), rtol=1e-15)
    flipped = cls(reduction="none")(y.reshape(6, 1), pred.detach().numpy().ravel())
    np.testing.assert_allclose(flipped.numpy(), same.numpy(), rtol=1e-15)
    cls()(y, pred).backward()
    assert pred.grad.shape == (6, 1)


def test_n_against_n_by_1_mse_value():
    y = np.array([1.0, 2.0, 3.0])
    y_hat = np.array([[1.0], [1.0], [5.0]])
    assert L.MeanSquaredError()(y, y_hat).item() == pytest.approx((0 + 1 + 4) / 3)
    # a silent (3, 3) broadcast would give mean((y[None] - y_hat)²) instead:
    assert L.MeanSquaredError()(y, y_hat).item() != pytest.approx(np.mean((y[None, :] - y_hat) ** 2))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_shape_mismatch_names_the_loss_and_both_shapes(case):
    _, cls, kw, _, _, kind, _, _ = case
    yt, yp = _data(kind, np.random.default_rng(2), shape=(4, 3))
    bad_pred = yp[:3]  # (3, 3) against 4 samples
    with pytest.raises(ValueError) as err:
        cls(**kw)(yt, bad_pred)
    msg = str(err.value)
    assert cls.__name__ in msg and str(np.shape(yt)) in msg and "(3, 3)" in msg


def test_no_silent_n_by_n_broadcast():
    with pytest.raises(ValueError, match=r"MeanSquaredError.*\(3,\).*\(3, 3\)"):
        L.MeanSquaredError()(np.ones(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"binary_crossentropy.*\(4, 1\).*\(4,\s*2\)"):
        L.binary_crossentropy(np.ones((4, 1)), np.full((4, 2), 0.5))


def test_scalar_inputs_are_one_sample_with_one_feature():
    pred = tl.Tensor(5.0, dtype=np.float64, requires_grad=True)
    out = L.MeanSquaredError()(3.0, pred)
    assert out.item() == pytest.approx(4.0)
    out.backward()
    assert pred.grad.shape == () and pred.grad.item() == pytest.approx(4.0)
    assert L.mean_absolute_error(3.0, 5.0).numpy() == pytest.approx(2.0)


def test_one_dimensional_inputs_are_one_sample_like_keras():
    out = L.MeanSquaredError(reduction="none")([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert out.shape == () and out.item() == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\).*single sample"):
        L.MeanSquaredError()([1.0, 2.0, 3.0], [1.0, 2.0, 5.0], sample_weight=[1.0, 2.0, 3.0])


def test_sample_weight_shapes():
    rng = np.random.default_rng(4)
    yt, yp = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    per = np.mean((yt - yp) ** 2, -1)
    w = np.array([1.0, 0.0, 2.0, 0.5])
    loss = L.MeanSquaredError()
    for sw in (w, w.reshape(4, 1), tl.Tensor(w)):
        assert loss(yt, yp, sample_weight=sw).item() == pytest.approx(np.sum(per * w) / 4, rel=1e-12)
    assert loss(yt, yp, sample_weight=3.0).item() == pytest.approx(3 * per.mean(), rel=1e-12)
    with pytest.raises(ValueError, match=r"MeanSquaredError: sample_weight of shape \(3,\).*\(4,\)"):
        loss(yt, yp, sample_weight=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="sample_weight contains a non-finite"):
        loss(yt, yp, sample_weight=[1.0, np.nan, 1.0, 1.0])


def test_sample_weight_can_be_a_tensor_with_a_gradient():
    yt, yp = np.array([[1.0], [2.0]]), np.array([[0.0], [4.0]])
    w = tl.Tensor([1.0, 3.0], dtype=np.float64, requires_grad=True)
    L.MeanSquaredError()(yt, yp, sample_weight=w).backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.0 / 2, 4.0 / 2])


def test_mean_with_sample_weight_divides_by_total_weight():
    yt, yp = np.array([[1.0], [2.0], [0.0]]), np.array([[0.0], [4.0], [0.0]])
    w = np.array([1.0, 3.0, 0.0])
    out = L.MeanSquaredError(reduction="mean_with_sample_weight")(yt, yp, sample_weight=w)
    assert out.item() == pytest.approx((1 * 1 + 3 * 4) / 4)
    zero = L.MeanSquaredError(reduction="mean_with_sample_weight")(yt, yp, sample_weight=np.zeros(3))
    assert zero.item() == 0.0  # Keras's divide_no_nan
    assert L.MeanSquaredError(reduction="mean")(yt, yp).item() == pytest.approx(5 / 3)


# --- sparse labels ---------------------------------------------------------------------------------

def test_sparse_labels_as_floats_and_with_trailing_axis():
    probs = _softmax(np.random.default_rng(8).normal(size=(4, 5)))
    expected = -np.log(probs[np.arange(4), [0, 4, 2, 2]])
    for labels in ([0, 4, 2, 2], np.array([0.0, 4.0, 2.0, 2.0]), np.array([[0], [4], [2], [2]]),
                   tl.Tensor([0.0, 4.0, 2.0, 2.0]), np.array([0, 4, 2, 2], dtype=np.uint8)):
        out = L.SparseCategoricalCrossentropy(reduction="none")(labels, probs)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_sparse_labels_with_extra_axes():
    logits = np.random.default_rng(9).normal(size=(2, 3, 4))
    labels = np.array([[0, 1, 3], [2, 2, 0]])
    out = L.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda p: L.SparseCategoricalCrossentropy(from_logits=True)(labels, p), logits)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sparse_ignore_class_matches_keras_masking(reduction, weighted):
    rng = np.random.default_rng(21)
    logits = rng.normal(size=(6, 4))
    labels = np.array([0, 255, 3, 1, 255, 2])
    w = rng.uniform(0.5, 2.0, 6) if weighted else np.ones(6)
    keep = labels != 255
    vals, grads = ref_scce_logits(np.where(keep, labels, 0), logits)
    vals, grads = np.where(keep, vals, 0.0), np.where(keep[:, None], grads, 0.0)
    # Keras 3: the mask joins the sample weights; for a mean, valid rows weigh N / n_valid
    ww = w * keep
    if reduction == "none":
        exp_val, exp_grad = vals * ww, grads * ww[:, None]
    elif reduction == "sum":
        exp_val, exp_grad = np.sum(vals * ww), grads * ww[:, None]
    elif reduction == "sum_over_batch_size":
        exp_val, exp_grad = np.sum(vals * ww) / keep.sum(), grads * ww[:, None] / keep.sum()
    else:
        exp_val, exp_grad = np.sum(vals * ww) / ww.sum(), grads * ww[:, None] / ww.sum()
    pred = tl.Tensor(logits, requires_grad=True)
    loss = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255, reduction=reduction)
    out = loss(labels, pred, sample_weight=w if weighted else None)
    np.testing.assert_allclose(out.numpy(), exp_val, rtol=1e-12, atol=1e-15)
    out.sum().backward()
    np.testing.assert_allclose(pred.grad.numpy(), exp_grad, rtol=1e-12, atol=1e-15)
    assert all(t.op in ops.OPS and t.scope == "SparseCategoricalCrossentropy" for t in _graph(out) if not t.is_leaf)


def test_sparse_ignore_class_edge_cases():
    probs = [[0.2, 0.8], [0.6, 0.4]]
    every = L.SparseCategoricalCrossentropy(ignore_class=-1)([-1, -1], probs)
    assert every.item() == 0.0  # nothing to average: 0, like Keras's divide_no_nan
    per = L.sparse_categorical_crossentropy([1, -1], probs, ignore_class=-1)
    np.testing.assert_allclose(per.numpy(), [-np.log(0.8), 0.0], rtol=1e-6)
    assert L.SparseCategoricalCrossentropy(ignore_class=-1).get_config()["ignore_class"] == -1
    with pytest.raises(ValueError, match="class label -2 is out of range"):
        L.SparseCategoricalCrossentropy(ignore_class=-1)([-2, 0], probs)
    with pytest.raises(TypeError, match="ignore_class must be an int"):
        L.sparse_categorical_crossentropy([0, 1], probs, ignore_class=0.5)


@pytest.mark.parametrize("labels,match", [
    ([0, 3], r"class label 3 is out of range for y_pred with 3 classes"),
    ([-1, 0], r"class label -1 is out of range"),
    ([0.5, 1.0], r"integer class labels, got 0.5"),
    ([0, np.nan], r"non-finite"),
    ([[0, 1]], r"y_true has shape \(1, 2\) and y_pred has shape \(2, 3\)"),
])
def test_sparse_label_errors(labels, match):
    with pytest.raises(ValueError, match=f"SparseCategoricalCrossentropy: .*{match}"):
        L.SparseCategoricalCrossentropy()(labels, [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])


# --- bad input is a clear error ------------------------------------------------------------------

@pytest.mark.parametrize("cls,kw", [(L.MeanSquaredError, {}), (L.BinaryCrossentropy, {"from_logits": True}),
                                    (L.CategoricalCrossentropy, {"from_logits": True}), (L.CosineSimilarity, {}),
                                    (L.SparseCategoricalCrossentropy, {"from_logits": True})])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_errors(cls, kw, bad):
    yp = np.array([[0.1, 0.2], [0.3, bad]])
    yt = [0, 1] if cls is L.SparseCategoricalCrossentropy else [[0.0, 1.0], [1.0, 0.0]]
    with pytest.raises(ValueError, match=rf"{cls.__name__}: y_pred contains a non-finite value .* index \(1, 1\)"):
        cls(**kw)(yt, yp)
    if cls is not L.SparseCategoricalCrossentropy:
        with pytest.raises(ValueError, match=rf"{cls.__name__}: y_true contains a non-finite"):
            cls(**kw)(yp, np.zeros((2, 2)))


def test_probabilities_out_of_range_suggest_from_logits():
    with pytest.raises(ValueError, match=r"BinaryCrossentropy: y_pred must be in \[0.0, 1.0\].*from_logits=True"):
        L.BinaryCrossentropy()([[1.0]], [[2.5]])
    with pytest.raises(ValueError, match=r"CategoricalCrossentropy: y_pred must be in .*from_logits"):
        L.CategoricalCrossentropy()([[1.0, 0.0]], [[-1.0, 3.0]])
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: y_pred must be in"):
        L.SparseCategoricalCrossentropy()([1], [[-1.0, 3.0]])
    with pytest.raises(ValueError, match=r"BinaryCrossentropy: y_true must be in \[0.0, 1.0\]"):
        L.BinaryCrossentropy(from_logits=True)([[2.0]], [[0.3]])
    with pytest.raises(ValueError, match=r"a row of y_pred sums to 0"):
        L.CategoricalCrossentropy()([[1.0, 0.0]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"Poisson: y_pred must be >= 0.0"):
        L.Poisson()([[1.0]], [[-0.5]])


def test_other_errors():
    with pytest.raises(ValueError, match="reduction must be one of"):
        L.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match=r"label_smoothing must be a finite number in \[0.0, 1.0\]"):
        L.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"Huber: delta must be a finite number > 0.0"):
        L.Huber(delta=0.0)
    with pytest.raises(ValueError, match=r"MeanSquaredError: y_pred is empty \(shape \(0, 2\)\)"):
        L.MeanSquaredError()(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(TypeError, match="MeanSquaredError: y_true must be numeric"):
        L.MeanSquaredError()([["a", "b"]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="CosineSimilarity: axis 2 is out of range"):
        L.CosineSimilarity(axis=2)(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="RootMeanSquaredError: the weighted mean squared error must be >= 0"):
        L.RootMeanSquaredError()([[1.0], [0.0]], [[0.0], [0.0]], sample_weight=[-1.0, 1.0])


# --- dtypes and graph plumbing --------------------------------------------------------------------

def test_dtype_follows_y_pred_and_y_true_gets_a_gradient_through_astype():
    yt = tl.Tensor(np.array([[1.0, 2.0]], dtype=np.float32), requires_grad=True)
    yp = tl.Tensor(np.array([[0.0, 4.0]]), requires_grad=True)  # float64
    out = L.MeanSquaredError()(yt, yp)
    assert out.dtype == np.float64
    out.backward()
    assert yt.grad.dtype == np.float32
    np.testing.assert_allclose(yt.grad.numpy(), [[1.0, -2.0]])
    np.testing.assert_allclose(yp.grad.numpy(), [[-1.0, 2.0]])
    assert L.MeanSquaredError()([[1, 2]], [[0, 4]]).dtype == tl.get_default_dtype()


def test_loss_on_plain_inputs_still_records_a_drawable_graph():
    out = L.CategoricalCrossentropy(from_logits=True)([[0, 1]], [[0.3, -0.2]])
    assert not out.requires_grad
    assert out.op is not None and any(t.op == "log_softmax" for t in _graph(out))


def test_custom_loss_function_wrapper():
    def quartic(y_true, y_pred):
        return ops.mean((y_true - y_pred) ** 4, axis=-1)

    loss = L.LossFunctionWrapper(quartic, reduction="sum")
    assert loss.name == "quartic"
    pred = tl.Tensor(np.array([[1.0, 2.0], [0.0, 1.0]]), requires_grad=True)
    out = loss(tl.Tensor(np.zeros((2, 2))), pred)
    assert out.item() == pytest.approx((1 + 16) / 2 + (0 + 1) / 2)
    assert all(t.scope == "quartic" for t in _graph(out) if not t.is_leaf)
    out.backward()
    np.testing.assert_allclose(pred.grad.numpy(), 4 * pred.numpy() ** 3 / 2)


def test_call_must_return_a_tensor():
    class Broken(L.Loss):
        def call(self, y_true, y_pred):
            return 1.0

    with pytest.raises(TypeError, match="Broken: call\\(y_true, y_pred\\) must return a Tensor, got float"):
        Broken()([1.0], [2.0])


def test_subclassing_loss():
    class Cubic(L.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.abs(ops.sub(y_pred, y_true)) ** 3, axis=-1)

    c = Cubic()
    assert c.name == "cubic" and c.reduction == "sum_over_batch_size"
    out = c([[0.0], [0.0]], [[1.0], [2.0]])
    assert out.item() == pytest.approx(4.5)
    assert out.scope == "Cubic"


# --- names and aliases -------------------------------------------------------------------------------

ALIASES = {
    "mse": L.MeanSquaredError, "mean_squared_error": L.MeanSquaredError, "MeanSquaredError": L.MeanSquaredError,
    "MSE": L.MeanSquaredError,
    "rmse": L.RootMeanSquaredError, "root_mean_squared_error": L.RootMeanSquaredError,
    "mae": L.MeanAbsoluteError, "mean_absolute_error": L.MeanAbsoluteError,
    "mape": L.MeanAbsolutePercentageError, "mean_absolute_percentage_error": L.MeanAbsolutePercentageError,
    "msle": L.MeanSquaredLogarithmicError, "mean_squared_logarithmic_error": L.MeanSquaredLogarithmicError,
    "binary_crossentropy": L.BinaryCrossentropy, "bce": L.BinaryCrossentropy,
    "BinaryCrossentropy": L.BinaryCrossentropy,
    "categorical_crossentropy": L.CategoricalCrossentropy, "CategoricalCrossentropy": L.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": L.SparseCategoricalCrossentropy,
    "SparseCategoricalCrossentropy": L.SparseCategoricalCrossentropy,
    "huber": L.Huber, "huber_loss": L.Huber, "Huber": L.Huber,
    "log_cosh": L.LogCosh, "logcosh": L.LogCosh, "LogCosh": L.LogCosh,
    "kld": L.KLDivergence, "kl_divergence": L.KLDivergence, "KLDivergence": L.KLDivergence,
    "kullback_leibler_divergence": L.KLDivergence,
    "poisson": L.Poisson, "Poisson": L.Poisson,
    "hinge": L.Hinge, "squared_hinge": L.SquaredHinge, "categorical_hinge": L.CategoricalHinge,
    "cosine_similarity": L.CosineSimilarity, "CosineSimilarity": L.CosineSimilarity,
}


@pytest.mark.parametrize("name,cls", list(ALIASES.items()))
def test_get_resolves_aliases(name, cls):
    loss = L.get(name)
    assert type(loss) is cls
    assert loss.reduction == "sum_over_batch_size"


def test_get_other_identifiers():
    assert L.get(None) is None
    inst = L.Huber(delta=2.0)
    assert L.get(inst) is inst
    assert L.get(L.mean_absolute_error) is L.mean_absolute_error
    assert type(L.get(L.Poisson)) is L.Poisson
    cfg = L.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert type(cfg) is L.CategoricalCrossentropy and cfg.from_logits
    with pytest.raises(ValueError) as err:
        L.get("mean_sqared_error")
    msg = str(err.value)
    assert "'mean_sqared_error'" in msg and "mean_squared_error" in msg and "sparse_categorical_crossentropy" in msg
    with pytest.raises(TypeError):
        L.get(42)
    with pytest.raises(TypeError):
        L.get(dict)


def test_keras_default_names_and_config():
    assert L.MeanSquaredError().name == "mean_squared_error"
    assert L.Huber().name == "huber_loss"
    assert L.LogCosh().name == "log_cosh"
    assert L.KLDivergence().name == "kl_divergence"
    assert L.BinaryCrossentropy(name="bce").name == "bce"
    cfg = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1).get_config()
    assert cfg == {"name": "categorical_crossentropy", "reduction": "sum_over_batch_size", "dtype": None,
                   "from_logits": True, "label_smoothing": 0.1, "axis": -1}
    again = L.CategoricalCrossentropy.from_config(cfg)
    assert again.get_config() == cfg
    assert L.Huber(delta=2.0).get_config()["delta"] == 2.0


def test_short_function_aliases():
    assert L.mse is L.mean_squared_error and L.mae is L.mean_absolute_error
    assert L.kld is L.kl_divergence and L.logcosh is L.log_cosh
    assert L.mape is L.mean_absolute_percentage_error and L.msle is L.mean_squared_logarithmic_error


def test_every_issue_loss_is_present_and_exported():
    names = ["MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
             "MeanSquaredLogarithmicError", "Huber", "LogCosh", "BinaryCrossentropy", "CategoricalCrossentropy",
             "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
             "CategoricalHinge", "CosineSimilarity", "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy",
             "Dice", "Tversky", "Circle", "CategoricalGeneralizedCrossEntropy", "CTC"]
    assert [c.__name__ for c in L.ALL_LOSSES] == names
    for n in names:
        assert n in L.__all__ and issubclass(getattr(L, n), L.Loss)
    assert tl.losses is L
    assert tl.MeanSquaredError is L.MeanSquaredError and tl.Loss is L.Loss


# --- property test ------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None, derandomize=True)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 4)),
                  elements=st.floats(-50, 50, allow_nan=False)),
       st.data())
def test_property_cce_logits_equals_reference_and_is_nonnegative(x, data):
    labels = data.draw(hnp.arrays(np.int64, x.shape[:1], elements=st.integers(0, x.shape[1] - 1)))
    out = L.sparse_categorical_crossentropy(labels, x, from_logits=True)
    ref = ref_scce_logits(labels, x)[0]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-9, atol=1e-12)
    assert np.all(out.numpy() >= 0)
    same = L.categorical_crossentropy(_one_hot(labels, x.shape[1]), x, from_logits=True)
    np.testing.assert_allclose(same.numpy(), out.numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 3)),
                  elements=st.floats(-1e4, 1e4, allow_nan=False)),
       st.data())
def test_property_bce_logits_finite_and_exact(x, data):
    z = data.draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from([0.0, 1.0])))
    pred = tl.Tensor(x, requires_grad=True)
    out = L.binary_crossentropy(z, pred, from_logits=True)
    np.testing.assert_allclose(out.numpy(), ref_bce_logits(z, x)[0], rtol=1e-9, atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(pred.grad.numpy(), ref_bce_logits(z, x)[1], atol=1e-12)


# --- docs/losses.md snippets run ------------------------------------------------------------------------

def _doc_snippets():
    text = (ROOT / "docs" / "losses.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_docs_cover_every_loss_and_the_two_formulas():
    text = (ROOT / "docs" / "losses.md").read_text(encoding="utf-8")
    for cls in L.ALL_LOSSES:
        assert f"## {cls.__name__}" in text, cls.__name__
    assert r"\mathrm{MSE} = \frac{1}{n} \sum_{i=1}^{n} (y_i - \hat y_i)^2" in text
    assert r"\mathrm{CE} = -\frac{1}{n} \sum_{i} \sum_{j} y_{ij} \log \hat y_{ij}" in text
    assert len(_doc_snippets()) >= len(L.ALL_LOSSES)


_SNIPPETS = _doc_snippets()


@pytest.mark.parametrize("i", range(len(_SNIPPETS)))
def test_docs_python_snippets_run(i, capsys):
    exec(compile(_SNIPPETS[i], f"docs/losses.md[snippet {i}]", "exec"), {"__name__": "__doc_snippet__"})
    if i == 0:  # the opening snippet prints MSE and its gradient: the NumPy formulas, 1/n Σ d² and 2 d / n
        y, p = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.2, 0.9], [0.4, 0.1]])
        assert "MeanSquaredError()([[0.0, 1.0], [1.0, 0.0]], y_pred)" in _SNIPPETS[0]
        printed = [float(v) for v in re.findall(r"-?\d+\.\d*(?:e[-+]?\d+)?", capsys.readouterr().out)]
        np.testing.assert_allclose(printed, [np.mean((p - y) ** 2), *(2 * (p - y) / p.size).ravel()], rtol=1e-6)
