"""Metrics: the regression metrics are the loss functions run under no_grad (as in Keras), the
accuracies follow Keras's thresholds and rank rule, and the running means weigh samples right.
Expected values are computed here with NumPy."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import losses, metrics


def test_regression_metrics_are_the_loss_functions():
    assert metrics.mean_squared_error is losses.mean_squared_error and metrics.mse is losses.mean_squared_error
    assert metrics.mean_absolute_error is losses.mean_absolute_error and metrics.mae is losses.mean_absolute_error


def test_metric_update_records_no_graph_and_matches_numpy():
    rng = np.random.default_rng(0)
    yt, yp = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    pred = tl.Tensor(yp, requires_grad=True)
    calls = []

    def spy(y_true, y_pred):
        out = losses.mean_squared_error(y_true, y_pred)
        calls.append((tl.is_grad_enabled(), out.requires_grad))
        return out

    m = metrics.MeanMetricWrapper(spy, name="spy")
    m.update_state(yt[:4], pred[:4].detach())
    m.update_state(yt[4:], pred[4:])
    assert calls == [(False, False), (False, False)]  # under no_grad: nothing recorded
    assert m.result() == pytest.approx(np.mean((yt - yp) ** 2), rel=1e-12)
    mae = metrics.MeanAbsoluteError()
    mae.update_state(yt, yp, sample_weight=np.arange(6.0))
    per = np.mean(np.abs(yt - yp), -1)
    assert mae.result() == pytest.approx(np.sum(per * np.arange(6)) / 15, rel=1e-12)
    assert (mae.name, metrics.MeanSquaredError("mse").name, metrics.BinaryAccuracy().name) == \
        ("mean_absolute_error", "mse", "binary_accuracy")


def test_metric_shapes_follow_the_losses_rank_rule():
    y, y_hat = np.array([1.0, 2.0, 3.0]), np.array([[1.0], [1.0], [5.0]])
    np.testing.assert_allclose(metrics.mse(y, y_hat).numpy(), [0.0, 1.0, 4.0])  # (n,) against (n, 1)
    np.testing.assert_allclose(metrics.binary_accuracy([1.0, 0.0, 1.0], [[0.9], [0.7], [0.2]]), [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"mean_squared_error: y_true has shape \(3,\) but y_pred has shape \(3, 3\)"):
        metrics.mse(y, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"binary_accuracy: y_true has shape \(2,\) and y_pred has shape \(3,\)"):
        metrics.binary_accuracy([1.0, 0.0], [0.5, 0.5, 0.5])


def test_binary_accuracy_threshold_is_strict_like_keras():
    assert metrics.binary_accuracy([[0.0]], [[0.5]]) == 1.0  # 0.5 is class 0
    assert metrics.binary_accuracy([[1.0]], [[0.5]]) == 0.0
    acc = metrics.BinaryAccuracy(threshold=0.7)
    acc.update_state([[1.0], [1.0], [0.0]], [[0.71], [0.7], [0.69]])
    assert acc.result() == pytest.approx(2 / 3)


def test_mean_weights_its_values():
    m = metrics.Mean()
    m.update_state([1.0, 3.0], sample_weight=[1.0, 0.0])
    assert m.result() == 1.0
    m.update_state([5.0], sample_weight=2.0)
    assert m.result() == pytest.approx((1.0 + 10.0) / 3.0)
    m.reset_state()
    assert m.result() == 0.0


def test_accuracies_match_numpy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(8, 4))
    labels = rng.integers(0, 4, 8)
    expected = (logits.argmax(-1) == labels).astype(float)
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(labels, logits), expected)
    np.testing.assert_array_equal(metrics.categorical_accuracy(np.eye(4)[labels], logits), expected)
    sca = metrics.get("accuracy", labels, logits)
    assert type(sca) is metrics.SparseCategoricalAccuracy and sca.name == "accuracy"


def test_built_in_metrics_are_one_line_each():
    # each built-in metric is its function plus a default name: no per-class __init__
    for cls in (metrics.MeanAbsoluteError, metrics.MeanSquaredError, metrics.BinaryAccuracy,
                metrics.CategoricalAccuracy, metrics.SparseCategoricalAccuracy):
        assert "__init__" not in cls.__dict__ and cls.fn is not None
    with pytest.raises(TypeError, match="MeanMetricWrapper: fn must be callable"):
        metrics.MeanMetricWrapper(None)
