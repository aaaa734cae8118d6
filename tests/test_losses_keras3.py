"""The Keras 3 losses added to the family (focal, Dice, Tversky, Circle, generalized CE, CTC), the
``dtype=`` argument and config round trips of every loss, and the swapped-argument warning.

Expected numbers come from NumPy references written here from the published formulas, from the
values Keras documents (docstrings of keras/src/losses/losses.py and its losses_test.py), from a
brute-force sum over every CTC alignment, and from central finite differences (gradcheck).
"""
from __future__ import annotations

import inspect
import os
import itertools
import warnings
import zlib

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import losses as L
from tinygrad_loss.gradcheck import gradcheck

EPS = 1e-7


# --- NumPy references ------------------------------------------------------------------------------

def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def ref_bfce(z, y, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    z = z * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p, bce = _sigmoid(y), np.logaddexp(0, y) - y * z
    else:
        q = np.clip(y, EPS, 1 - EPS)
        p, bce = y, -(z * np.log(q) + (1 - z) * np.log(1 - q))
    p_t = z * p + (1 - z) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        out = out * (z * alpha + (1 - z) * (1 - alpha))
    return out.mean(-1)


def ref_cfce(y, x, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    if from_logits:
        logq = _log_softmax(x)
    else:
        logq = np.log(np.clip(x / x.sum(-1, keepdims=True), EPS, 1 - EPS))
    return -np.sum(np.asarray(alpha) * (1 - np.exp(logq)) ** gamma * y * logq, -1)


def ref_dice(y, p, axis=None):
    return 1 - 2 * np.sum(y * p, axis=axis) / (np.sum(y, axis=axis) + np.sum(p, axis=axis) + EPS)


def ref_tversky(y, p, alpha=0.5, beta=0.5, axis=None):
    tp = np.sum(y * p, axis=axis)
    return 1 - tp / (tp + alpha * np.sum(y * (1 - p), axis=axis) + beta * np.sum((1 - y) * p, axis=axis) + EPS)


def ref_gce(labels, p, q=0.5):
    return (1 - np.take_along_axis(p, labels[..., None], -1)[..., 0] ** q) / q


def ref_circle(labels, emb, gamma=80.0, margin=0.4, remove_diagonal=True):
    """Sun et al.'s circle loss, anchor by anchor, with explicit lists of positives and negatives."""
    out = []
    for i in range(len(labels)):
        d = np.maximum(1 - emb @ emb[i], 0)
        pos = [j for j in range(len(labels)) if labels[j] == labels[i] and not (remove_diagonal and j == i)]
        neg = [j for j in range(len(labels)) if labels[j] != labels[i]]
        if not pos or not neg:
            out.append(0.0)
            continue
        p_terms = [-gamma * max(margin + d[j], 0) * (margin - d[j]) for j in pos]
        n_terms = [gamma * max(1 + margin - d[j], 0) * (1 - margin - d[j]) for j in neg]
        out.append(np.logaddexp(0, np.logaddexp.reduce(p_terms) + np.logaddexp.reduce(n_terms)))
    return np.array(out)


def _collapse(path):
    merged = [c for k, c in enumerate(path) if k == 0 or c != path[k - 1]]
    return tuple(c for c in merged if c != 0)


def ref_ctc_brute_force(labels, logits):
    """-log Σ over *every* path of T symbols that collapses to the label (0 = blank)."""
    out = []
    for lab, x in zip(labels, logits):
        target = tuple(int(v) for v in lab if v != 0)
        logp = _log_softmax(x)
        steps, classes = x.shape
        total = [sum(logp[t, c] for t, c in enumerate(path))
                 for path in itertools.product(range(classes), repeat=steps) if _collapse(path) == target]
        out.append(-np.logaddexp.reduce(total) if total else np.inf)
    return np.array(out)


# --- the cases: (id, class, kwargs, inputs, reference) --------------------------------------------

def _binary(rng, logits=False):
    return rng.integers(0, 2, (5, 3)).astype(float), (3 * rng.normal(size=(5, 3)) if logits
                                                      else rng.uniform(0.05, 0.95, (5, 3)))


def _onehot(rng, logits=False):
    y = np.eye(4)[rng.integers(0, 4, 5)]
    x = rng.normal(size=(5, 4))
    return y, (2 * x if logits else np.exp(x) / np.exp(x).sum(-1, keepdims=True))


def _masks(rng):
    return (rng.uniform(size=(4, 3, 2)) > 0.5).astype(float), rng.uniform(0.05, 0.95, (4, 3, 2))


def _labels_probs(rng):
    x = rng.normal(size=(6, 3))
    return rng.integers(0, 3, 6), np.exp(x) / np.exp(x).sum(-1, keepdims=True)


def _embeddings(rng):
    e = rng.normal(size=(6, 3))
    return np.array([0, 0, 1, 1, 2, 2]), e / np.linalg.norm(e, axis=1, keepdims=True)


def _sequences(rng):
    return np.array([[1, 2, 0], [2, 2, 1], [1, 0, 0]]), rng.normal(size=(3, 5, 3))


CASES = [
    ("bfce", L.BinaryFocalCrossentropy, {}, _binary, ref_bfce),
    ("bfce_balanced_smooth", L.BinaryFocalCrossentropy,
     {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "label_smoothing": 0.1}, _binary, ref_bfce),
    ("bfce_logits", L.BinaryFocalCrossentropy, {"from_logits": True, "gamma": 3.0},
     lambda r: _binary(r, True), ref_bfce),
    ("cfce", L.CategoricalFocalCrossentropy, {}, _onehot, ref_cfce),
    ("cfce_logits_smooth", L.CategoricalFocalCrossentropy,
     {"from_logits": True, "label_smoothing": 0.2, "alpha": [0.1, 0.2, 0.3, 0.4], "gamma": 1.0},
     lambda r: _onehot(r, True), ref_cfce),
    ("dice", L.Dice, {"axis": (1, 2)}, _masks, ref_dice),
    ("tversky", L.Tversky, {"alpha": 0.7, "beta": 0.3, "axis": (1, 2)}, _masks, ref_tversky),
    ("gce", L.CategoricalGeneralizedCrossEntropy, {"q": 0.7}, _labels_probs, ref_gce),
    ("circle", L.Circle, {"gamma": 4.0, "margin": 0.25}, _embeddings, ref_circle),
    ("circle_keep_diagonal", L.Circle, {"gamma": 2.0, "remove_diagonal": False}, _embeddings, ref_circle),
    ("ctc", L.CTC, {}, _sequences, ref_ctc_brute_force),
]
IDS = [c[0] for c in CASES]
REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"]


def _expected(values, w, reduction):
    ww = np.ones_like(values) if w is None else w
    if reduction == "none":
        return values * ww
    if reduction == "sum":
        return np.sum(values * ww)
    denom = values.size if reduction == "sum_over_batch_size" or w is None else ww.sum()
    return np.sum(values * ww) / denom


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_matches_numpy_reference(case, reduction, weighted):
    name, cls, kw, make, ref = case
    rng = np.random.default_rng(zlib.crc32(f"{name}/{reduction}/{weighted}".encode()))
    yt, yp = make(rng)
    per_sample = ref(yt, yp, **{k: v for k, v in kw.items() if k != "axis"}, **(
        {"axis": tuple(a for a in kw["axis"])} if "axis" in kw else {}))
    w = rng.uniform(0.2, 2.0, per_sample.shape) if weighted else None
    out = cls(reduction=reduction, **kw)(yt, yp, sample_weight=w)
    np.testing.assert_allclose(out.numpy(), _expected(per_sample, w, reduction), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cls.loss_fn(yt, yp, **kw).numpy(), per_sample, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_float64(case):
    name, cls, kw, make, _ = case
    yt, yp = make(np.random.default_rng(zlib.crc32(name.encode())))
    w = np.random.default_rng(3).uniform(0.5, 1.5, len(yp))
    res = gradcheck(lambda p: cls(**kw)(yt, p, sample_weight=w), yp)
    assert res, str(res)
    if cls in (L.Dice, L.Tversky, L.BinaryFocalCrossentropy):  # smooth in soft targets too
        soft = np.clip(yt, 0.1, 0.9)
        assert gradcheck(lambda t, p: cls(reduction="none", **kw)(t, p), soft, yp)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_op_is_a_primitive_recorded_in_the_class_scope(case):
    name, cls, kw, make, _ = case
    yt, yp = make(np.random.default_rng(1))
    out = cls(**kw)(yt, tl.Tensor(yp, requires_grad=True))
    seen, stack = set(), [out]
    while stack:
        t = stack.pop()
        if id(t) in seen or t.is_leaf:
            continue
        seen.add(id(t))
        assert t.op in tl.ops.OPS and t.scope.split("/")[0] == cls.__name__, (t.op, t.scope)
        stack.extend(t.parents)


# --- Keras's documented values ---------------------------------------------------------------------

BFCE_T, BFCE_X = [[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]]
C_T, C_P = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
Y3, LOG3 = np.eye(3), np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])
SEG_T = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]])
SEG_P = np.array([[0, 1, 0, 1], [1, 0, 1, 1], [0, 1, 0, 1], [1, 0, 1, 1]])
IMG_T = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]])
IMG_P = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]])
CIRCLE_T = np.array([1, 1, 2, 2, 3])
CIRCLE_P = np.array([[0.70014004, -0.42008403, 0.14002801, 0.56011203],
                     [0.17609018, 0.70436073, -0.52827054, 0.44022545],
                     [-0.34050261, 0.25537696, -0.68100522, 0.59587957],
                     [0.32163376, -0.75047877, 0.53605627, -0.21442251],
                     [0.51261459, -0.34174306, 0.17087153, 0.76892189]])
CIRCLE_REF_T = np.array([1, 1, 2, 2, 3, 4])
CIRCLE_REF_P = np.array([[0.40824829, -0.54433105, 0.27216553, 0.68041382],
                         [0.76376261, 0.10910895, -0.54554473, 0.32732684],
                         [-0.74420841, 0.24806947, 0.49613894, -0.3721042],
                         [0.52981294, -0.13245324, 0.79471941, -0.26490647],
                         [0.54554473, -0.32732684, 0.10910895, 0.76376261],
                         [-0.27216553, 0.68041382, 0.40824829, -0.54433105]])
CIRCLE_W = np.array([2.0, 2.0, 1.0, 1.0, 0.5])
CTC_X = (np.arange(24).reshape((2, 4, 3)) - 12) / 100

KERAS_VALUES = [
    (L.BinaryFocalCrossentropy(gamma=2, from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8], None, 0.691),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=2, from_logits=True), [0, 1, 0, 0],
     [-18.6, 0.51, 2.94, -12.8], None, 0.51),
    (L.BinaryFocalCrossentropy(gamma=3, from_logits=True), BFCE_T, BFCE_X, None, 0.647),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3, from_logits=True), BFCE_T, BFCE_X, None, 0.482),
    (L.BinaryFocalCrossentropy(gamma=3, from_logits=True), BFCE_T, BFCE_X, [0.8, 0.2], 0.133),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3, from_logits=True), BFCE_T, BFCE_X, [0.8, 0.2],
     0.097),
    (L.BinaryFocalCrossentropy(gamma=4, from_logits=True, reduction="sum"), BFCE_T, BFCE_X, None, 1.222),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=4, from_logits=True, reduction="sum"), BFCE_T,
     BFCE_X, None, 0.914),
    (L.BinaryFocalCrossentropy(gamma=5, from_logits=True, reduction=None), BFCE_T, BFCE_X, None, [0.0017, 1.1561]),
    (L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=5, from_logits=True, reduction=None), BFCE_T,
     BFCE_X, None, [0.0004, 0.8670]),
    (L.CategoricalFocalCrossentropy(), C_T, C_P, None, 0.23315276),
    (L.CategoricalFocalCrossentropy(), C_T, C_P, [0.3, 0.7], 0.1632),
    (L.CategoricalFocalCrossentropy(reduction="sum"), C_T, C_P, None, 0.46631),
    (L.CategoricalFocalCrossentropy(reduction=None), C_T, C_P, None, [3.2058331e-05, 4.6627346e-01]),
    (L.CategoricalFocalCrossentropy(from_logits=True, reduction=None), Y3, LOG3, None,
     [1.5096224e-09, 2.4136547e-11, 1.0360638e-03]),
    (L.CategoricalFocalCrossentropy(from_logits=True), Y3, LOG3, [[1.2], [3.4], [5.6]], 0.001933),
    (L.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.1), [[1, 0, 0]], [[4.9, -0.5, 2.05]], None,
     0.06685),
    (L.Dice(), [[1, 2], [1, 2]], [[4, 1], [6, 1]], None, -0.55555546),
    (L.Dice(), SEG_T, SEG_P, None, 0.77777773),
    (L.Dice(axis=(1, 2, 3), reduction=None), IMG_T, IMG_P, None, [0.5, 0.75757575]),
    (L.Tversky(), [[1, 2], [1, 2]], [[4, 1], [6, 1]], None, -0.55555546),
    (L.Tversky(alpha=0.2, beta=0.8), [[1, 2], [1, 2]], [[4, 1], [6, 1]], None, -0.29629636),
    (L.Tversky(), SEG_T, SEG_P, None, 0.77777773),
    (L.Tversky(alpha=0.2, beta=0.8), SEG_T, SEG_P, None, 0.7916667),
    (L.Tversky(axis=(1, 2, 3), reduction=None), IMG_T, IMG_P, None, [0.5, 0.75757575]),
    (L.Tversky(alpha=0.2, beta=0.8, axis=(1, 2, 3), reduction=None), IMG_T, IMG_P, None, [0.5, 0.7222222]),
    (L.Circle(gamma=80.0, margin=0.4), CIRCLE_T, CIRCLE_P, None, 188.3883),
    (L.Circle(gamma=256, margin=0.25), CIRCLE_T, CIRCLE_P, None, 652.7617),
    (L.Circle(), CIRCLE_T, CIRCLE_P, CIRCLE_W, 244.91918),
    (L.Circle(reduction="mean_with_sample_weight"), CIRCLE_T, CIRCLE_P, CIRCLE_W, 163.27948),
    (L.Circle(reduction=None), CIRCLE_REF_T, CIRCLE_REF_P, None, [82.9116, 36.7942, 92.4590, 52.6798, 0.0, 0.0]),
    (L.Circle(reduction="sum"), CIRCLE_REF_T, CIRCLE_REF_P, None, 264.845),
    (L.CategoricalGeneralizedCrossEntropy(), [0, 1, 0, 1], [[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]], None,
     np.mean((1 - np.array([0.7, 0.8, 0.6, 0.6]) ** 0.5) / 0.5)),
    (L.CategoricalGeneralizedCrossEntropy(q=0.8), [0, 1, 0, 1], [[0.7, 0.3, 0.0], [0.2, 0.2, 0.6], [0.6, 0.4, 0.0],
                                                                 [0.2, 0.2, 0.6]], None,
     np.mean((1 - np.array([0.7, 0.2, 0.6, 0.2]) ** 0.8) / 0.8)),
    # Keras's CTC test: the second label [1, 2, 0, 2] has length 3 (its non-zero count), i.e. [1, 2, 0]
    (L.CTC(), [[1, 2, 1, 0], [1, 2, 0, 2]], CTC_X, None, 2.448645),
]


@pytest.mark.parametrize("i", range(len(KERAS_VALUES)))
def test_keras_documented_values(i):
    loss, yt, yp, w, expected = KERAS_VALUES[i]
    out = loss(np.asarray(yt), np.asarray(yp, dtype=np.float64), sample_weight=w)
    np.testing.assert_allclose(out.numpy(), expected, rtol=2e-3, atol=5e-4)  # Keras prints 3-4 digits


def test_keras_function_forms():
    np.testing.assert_allclose(L.binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], gamma=2).numpy(),
                               [0.330, 0.206], atol=1e-3)
    np.testing.assert_allclose(L.categorical_focal_crossentropy([[0, 1, 0], [0, 0, 1]],
                                                                [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]]).numpy(),
                               [2.63401289e-04, 6.75912094e-01], rtol=1e-5)
    assert L.dice(IMG_T, IMG_P).shape == () and L.dice(IMG_T, IMG_P).item() == pytest.approx(0.6164384, rel=1e-6)
    out = L.circle(CIRCLE_REF_T, CIRCLE_REF_P, remove_diagonal=False)
    np.testing.assert_allclose(out.numpy(), ref_circle(CIRCLE_REF_T, CIRCLE_REF_P, remove_diagonal=False), rtol=1e-9)
    # against a reference set (Keras's losses_test.py values), with a gradient for both sets
    emb, ref = tl.Tensor(CIRCLE_P, requires_grad=True), tl.Tensor(CIRCLE_REF_P, requires_grad=True)
    out = L.circle(CIRCLE_T, emb, ref_labels=CIRCLE_REF_T, ref_embeddings=ref, gamma=80.0, margin=0.4,
                   remove_diagonal=False)
    np.testing.assert_allclose(out.numpy(), [61.5844, 94.3465, 276.9344, 90.9873, 48.8963], rtol=1e-5)
    out.sum().backward()
    assert np.all(np.isfinite(emb.grad.numpy())) and np.abs(ref.grad.numpy()).sum() > 0
    assert gradcheck(lambda e, r: L.circle([0, 1], e, ref_labels=[0, 1, 1], ref_embeddings=r, gamma=2.0),
                     CIRCLE_P[:2], CIRCLE_REF_P[:3])
    with pytest.raises(ValueError, match="circle: give both ref_labels and ref_embeddings"):
        L.circle(CIRCLE_T, CIRCLE_P, ref_labels=CIRCLE_REF_T)
    assert list(inspect.signature(L.Circle).parameters)[:3] == ["gamma", "margin", "remove_diagonal"]


# --- numerical stability ---------------------------------------------------------------------------

def test_focal_losses_from_logits_of_magnitude_1e4():
    x = np.array([[1e4, -1e4, 1e4, -1e4]])
    z = np.array([[0.0, 1.0, 1.0, 0.0]])
    pred = tl.Tensor(x, requires_grad=True)
    out = L.BinaryFocalCrossentropy(from_logits=True, reduction="none")(z, pred)
    # wrong and certain: (1 - p_t)^γ = 1 and the cross-entropy is exactly |x|; right and certain: 0
    assert out.item() == pytest.approx((1e4 + 1e4) / 4, rel=1e-12)
    out.backward()
    assert np.all(np.isfinite(pred.grad.numpy()))
    np.testing.assert_allclose(pred.grad.numpy(), [[0.25, -0.25, 0.0, 0.0]], atol=1e-12)

    logits = tl.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]), requires_grad=True)
    out = L.CategoricalFocalCrossentropy(from_logits=True, reduction="none")([[0, 1, 0], [1, 0, 0]], logits)
    # α (1 - p)^γ (-log p) with p = 0 exactly: 0.25 · |log-softmax|, which is 2e4 and 2e4 + log 2
    np.testing.assert_allclose(out.numpy(), [0.25 * 2e4, 0.25 * (2e4 + np.log(2))], rtol=1e-12)
    out.sum().backward()
    assert np.all(np.isfinite(logits.grad.numpy()))


def test_ctc_is_stable_for_long_sequences_and_large_logits():
    rng = np.random.default_rng(4)
    logits = 30 * rng.normal(size=(2, 300, 5))
    labels = np.array([[1, 2, 3, 4, 1, 2] + [0] * 4, [4, 4, 3, 3, 2, 2, 1, 1, 2, 3]])
    pred = tl.Tensor(logits, requires_grad=True)
    out = L.CTC(reduction="none")(labels, pred)
    assert np.all(np.isfinite(out.numpy())) and np.all(out.numpy() > 0)
    out.sum().backward()
    g = pred.grad.numpy()
    assert np.all(np.isfinite(g))
    # d(-log P)/d logits sums to 0 over the classes at every frame (the softmax's invariance)
    np.testing.assert_allclose(g.sum(-1), 0.0, atol=1e-9)


# --- CTC against brute force -------------------------------------------------------------------------

@pytest.mark.parametrize("labels,steps", [([[1]], 1), ([[1, 2]], 3), ([[1, 1]], 3), ([[2, 1, 0]], 4),
                                          ([[0, 0]], 3), ([[1, 2], [2, 2]], 4)])
def test_ctc_equals_the_sum_over_every_alignment(labels, steps):
    labels = np.array(labels)
    logits = np.random.default_rng(steps).normal(size=(len(labels), steps, 3))
    np.testing.assert_allclose(L.ctc(labels, logits).numpy(), ref_ctc_brute_force(labels, logits), rtol=1e-12)
    # the gradient against central differences of the brute-force sum (no autodiff on that side)
    pred = tl.Tensor(logits, requires_grad=True)
    L.ctc(labels, pred).sum().backward()
    num = np.zeros_like(logits)
    for idx in np.ndindex(*logits.shape):
        hi, lo = logits.copy(), logits.copy()
        hi[idx] += 1e-6
        lo[idx] -= 1e-6
        num[idx] = (ref_ctc_brute_force(labels, hi).sum() - ref_ctc_brute_force(labels, lo).sum()) / 2e-6
    np.testing.assert_allclose(pred.grad.numpy(), num, atol=1e-6)


def test_ctc_impossible_alignment_is_inf_with_zero_gradient():
    pred = tl.Tensor(np.zeros((2, 2, 3)), requires_grad=True)
    out = L.CTC(reduction="none")([[1, 1], [1, 2]], pred)  # [1, 1] needs 3 frames (1, blank, 1)
    assert out.numpy()[0] == np.inf
    assert out.numpy()[1] == pytest.approx(ref_ctc_brute_force([[1, 2]], np.zeros((1, 2, 3)))[0], rel=1e-12)
    out[1].backward()
    assert np.all(np.isfinite(pred.grad.numpy()))


def test_ctc_input_errors():
    with pytest.raises(ValueError, match=r"CTC: y_pred must hold logits of shape \(batch, time, classes\)"):
        L.CTC()([[1]], np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"CTC: y_true must hold one label sequence per sample"):
        L.CTC()([1, 2], np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match=r"CTC: class label 3 is out of range for y_pred with 3 classes"):
        L.CTC()([[3]], np.zeros((1, 3, 3)))


# --- argument checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make,match", [
    (lambda: L.BinaryFocalCrossentropy(alpha=1.5), r"BinaryFocalCrossentropy: alpha must be a finite number in \[0.0, 1.0\]"),
    (lambda: L.BinaryFocalCrossentropy(gamma=-1), r"gamma must be a finite number >= 0.0"),
    (lambda: L.CategoricalGeneralizedCrossEntropy(q=1.0), r"q must be a finite number in \(0.0, 1.0\)"),
    (lambda: L.CategoricalGeneralizedCrossEntropy(q=0), r"q must be a finite number in \(0.0, 1.0\)"),
    (lambda: L.Tversky(alpha=-0.1), r"Tversky: alpha must be a finite number >= 0.0"),
    (lambda: L.Dice()([[1.0]], [[0.5]]) and L.Dice(axis=(0, 3))(np.ones((2, 2)), np.ones((2, 2))),
     r"Dice: axis 3 is out of range"),
    (lambda: L.Circle(margin=np.nan), r"Circle: margin must be a finite number"),
])
def test_bad_arguments_are_value_errors_naming_the_loss(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_argument_types_are_type_errors():
    with pytest.raises(TypeError, match="BinaryFocalCrossentropy: apply_class_balancing must be True or False"):
        L.BinaryFocalCrossentropy(apply_class_balancing="yes")
    with pytest.raises(TypeError, match="Dice: axis must be an int, a tuple of ints or None"):
        L.Dice(axis=(1, "2"))
    with pytest.raises(TypeError, match="Huber: delta must be a finite number"):
        L.Huber(delta="1")


# --- dtype= and config round trips, for every loss ----------------------------------------------------

def _inputs_for(cls):
    rng = np.random.default_rng(0)
    if cls in (L.SparseCategoricalCrossentropy, L.CategoricalGeneralizedCrossEntropy):
        return _labels_probs(rng)
    if cls is L.Circle:
        return _embeddings(rng)
    if cls is L.CTC:
        return _sequences(rng)
    if cls in (L.CategoricalCrossentropy, L.CategoricalFocalCrossentropy, L.CategoricalHinge, L.KLDivergence):
        return _onehot(rng)
    if cls is L.MeanAbsolutePercentageError:  # |y - ŷ| / ε for y = 0 would overflow float16
        return rng.uniform(0.5, 2.0, (5, 3)), rng.uniform(0.5, 2.0, (5, 3))
    return _binary(rng)


@pytest.mark.parametrize("cls", L.ALL_LOSSES, ids=[c.__name__ for c in L.ALL_LOSSES])
def test_dtype_argument_sets_the_computation_and_result_dtype(cls):
    yt, yp = _inputs_for(cls)
    ref = cls(dtype="float64")(yt, yp).item()
    for dtype, rtol in (("float32", 1e-5), (np.float16, 2e-2)):
        pred = tl.Tensor(yp, requires_grad=True)  # float64 in, the loss's dtype out
        out = cls(dtype=dtype)(yt, pred)
        assert out.dtype == np.dtype(dtype)
        assert out.item() == pytest.approx(ref, rel=rtol, abs=rtol)
        out.backward()
        assert pred.grad.dtype == np.float64 and np.all(np.isfinite(pred.grad.numpy()))
    assert cls()(yt, yp.astype(np.float32)).dtype == np.float32  # None: y_pred's dtype
    with pytest.raises(ValueError, match=rf"{cls.__name__}: dtype 'bfloat16' is not a NumPy dtype"):
        cls(dtype="bfloat16")
    with pytest.raises(ValueError, match=rf"{cls.__name__}: dtype must be one of .* got 'int32'"):
        cls(dtype="int32")


NON_DEFAULT = {
    L.Huber: {"delta": 2.5}, L.BinaryCrossentropy: {"from_logits": True, "label_smoothing": 0.1},
    L.CategoricalCrossentropy: {"label_smoothing": 0.2, "axis": 0},
    L.SparseCategoricalCrossentropy: {"from_logits": True, "ignore_class": 255}, L.CosineSimilarity: {"axis": 0},
    L.BinaryFocalCrossentropy: {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0, "from_logits": True},
    L.CategoricalFocalCrossentropy: {"alpha": [0.2, 0.8], "gamma": 1.0, "label_smoothing": 0.1},
    L.Dice: {"axis": (1, 2)}, L.Tversky: {"alpha": 0.3, "beta": 0.7, "axis": 1},
    L.Circle: {"gamma": 64.0, "margin": 0.3, "remove_diagonal": False},
    L.CategoricalGeneralizedCrossEntropy: {"q": 0.25},
}


@pytest.mark.parametrize("cls", L.ALL_LOSSES, ids=[c.__name__ for c in L.ALL_LOSSES])
def test_config_round_trip(cls):
    loss = cls(reduction="sum", name="mine", dtype="float32", **NON_DEFAULT.get(cls, {}))
    cfg = loss.get_config()
    assert cfg["name"] == "mine" and cfg["reduction"] == "sum" and cfg["dtype"] == "float32"
    for key, value in NON_DEFAULT.get(cls, {}).items():
        assert cfg[key] == value and getattr(loss, key) == value
    again = cls.from_config(cfg)
    assert type(again) is cls and again.get_config() == cfg
    assert type(L.get({"class_name": cls.__name__, "config": cfg})) is cls
    assert cls().get_config()["name"] == cls.default_name


def test_keras_default_names_and_signatures():
    assert L.BinaryFocalCrossentropy().name == "binary_focal_crossentropy"
    assert L.CategoricalGeneralizedCrossEntropy().name == "categorical_generalized_cross_entropy"
    assert (L.Dice().name, L.Tversky().name, L.Circle().name, L.CTC().name) == ("dice", "tversky", "circle", "ctc")
    b = L.BinaryFocalCrossentropy()
    assert (b.apply_class_balancing, b.alpha, b.gamma, b.from_logits, b.label_smoothing, b.axis) == \
        (False, 0.25, 2.0, False, 0.0, -1)
    c = L.Circle()
    assert (c.gamma, c.margin, c.remove_diagonal) == (80.0, 0.4, True)
    assert (L.Tversky().alpha, L.Tversky().beta, L.Tversky().axis, L.Dice().axis) == (0.5, 0.5, None, None)
    assert L.CategoricalGeneralizedCrossEntropy().q == 0.5
    assert L.BinaryFocalCrossentropy(True, 0.5).alpha == 0.5  # positional, in Keras's order


def test_aliases_reach_keras_losses():
    from tinygrad_loss.keras import losses as K
    for alias, fn in (("bce", L.binary_crossentropy), ("BCE", L.binary_crossentropy), ("MSE", L.mean_squared_error),
                      ("mse", L.mean_squared_error), ("MAE", L.mean_absolute_error), ("KLD", L.kl_divergence),
                      ("logcosh", L.log_cosh), ("huber_loss", L.huber)):
        assert getattr(K, alias) is fn and getattr(L, alias) is fn
    for cls in L.ALL_LOSSES:
        assert getattr(K, cls.__name__) is cls and getattr(K, cls.loss_fn.__name__) is cls.loss_fn
        assert type(L.get(cls.default_name)) is cls and type(L.get(cls.__name__)) is cls
    assert type(K.get("BCE")) is L.BinaryCrossentropy and type(K.get("ctc")) is L.CTC


# --- swapped arguments ----------------------------------------------------------------------------

@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(L, "_WARNED", set())


def test_swapped_categorical_arguments_warn_once(fresh_warnings):
    probs, onehot = np.array([[0.7, 0.2, 0.1]]), np.array([[1.0, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = L.CategoricalCrossentropy()(onehot, probs).item()
    assert right == pytest.approx(-np.log(0.7), rel=1e-9)  # 0.357
    with pytest.warns(L.ArgumentOrderWarning, match=r"CategoricalCrossentropy: .*look swapped") as record:
        swapped = L.CategoricalCrossentropy()(probs, onehot).item()
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampoline adds a frame between us and losses.py
        assert record[0].filename == __file__  # the warning points at the caller's line
    assert swapped == pytest.approx(-0.3 * np.log(1e-7), rel=1e-6)  # 4.84: still computed as asked
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: a second call is silent
        L.CategoricalCrossentropy()(probs, onehot)


def test_swapped_binary_arguments_warn(fresh_warnings):
    with pytest.warns(L.ArgumentOrderWarning, match=r"BinaryCrossentropy: .*exactly 0/1"):
        L.BinaryCrossentropy()([[0.9, 0.2]], [[1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L.BinaryCrossentropy()([[1.0, 0.0]], [[0.9, 0.2]])  # the right order
        L.BinaryCrossentropy(from_logits=True)([[0.3, 0.6]], [[0.0, 1.0]])  # logits may be 0 or 1
        L.CategoricalCrossentropy()([[0.5, 0.5]], [[0.5, 0.5]])  # soft against soft


def test_docs_show_each_new_loss_with_its_picture():
    import pathlib
    import re
    docs = pathlib.Path(__file__).resolve().parents[1] / "docs"
    text = (docs / "losses.md").read_text(encoding="utf-8")
    for cls in (L.BinaryFocalCrossentropy, L.CategoricalFocalCrossentropy, L.Dice, L.Tversky, L.Circle,
                L.CategoricalGeneralizedCrossEntropy, L.CTC):
        section = text.split(f"\n## {cls.__name__}\n", 1)[1].split("\n## ", 1)[0]
        assert "$$" in section and "**Use it for**" in section and "```python" in section, cls.__name__
        (picture,) = re.findall(r"\]\((img/losses/[^)]+\.png)\)", section)
        assert (docs / picture).stat().st_size > 10_000, picture
