"""Loss edge cases written for mutants mutmut left alive in tinygrad_loss/losses.py (issue 19):
error messages that must name the loss, the argument and the fix, y_true taking y_pred's dtype,
and LossFunctionWrapper passing its keyword arguments on. Expected values are NumPy formulas."""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import losses


def test_poisson_refuses_a_negative_rate_and_says_how_to_get_one():
    """Mutants: the hint dropped or changed in ``_rates``."""
    with pytest.raises(ValueError, match=r"y_pred is a rate; use exp or softplus on the output"):
        losses.Poisson()([[1.0]], [[-0.5]])


def test_rmse_refuses_negative_weights_and_says_why():
    """Mutants: the reason dropped or changed in RootMeanSquaredError.__call__."""
    with pytest.raises(ValueError, match=r"negative sample weights make the square root undefined"):
        losses.RootMeanSquaredError()([[1.0], [2.0]], [[0.5], [3.0]], sample_weight=[1.0, -1.0])


def test_y_true_takes_y_preds_dtype_and_errors_name_the_loss_and_argument():
    """Mutants in ``Loss._values_and_mask``: y_true converted without y_pred's dtype (float32 rounding
    of 0.1 shows at 1e-9), or the error naming another loss or argument."""
    p = tl.Tensor(np.array([[0.3]], dtype=np.float64))
    got = losses.MeanSquaredError()([[0.1]], p)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.item(), (0.3 - 0.1) ** 2, rtol=1e-13)
    with pytest.raises(TypeError, match=r"^MeanSquaredError: y_true must be numeric"):
        losses.MeanSquaredError()([["a"]], p)


def test_loss_function_wrapper_passes_its_keyword_arguments():
    def scaled_abs(y_true, y_pred, scale=1.0):
        return tl.mean(tl.abs(y_pred - y_true), axis=-1) * scale

    y, p = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([[1.5, 2.0], [1.0, -1.0]])
    loss = losses.LossFunctionWrapper(scaled_abs, scale=3.0)
    np.testing.assert_allclose(loss(y, p).item(), 3.0 * np.mean(np.abs(p - y)), rtol=1e-12)
    assert repr(loss).startswith("LossFunctionWrapper(")


def test_a_loss_subclass_gets_y_true_as_a_tensor_of_y_preds_dtype():
    """Mutants in the base ``Loss._values_and_mask`` (used by subclasses that define ``call``): y_true
    converted without y_pred's dtype, or errors naming another loss or argument."""
    seen = []

    class Squares(losses.Loss):
        def call(self, y_true, y_pred):
            seen.append(y_true.dtype)
            return tl.mean((y_true - y_pred) ** 2, axis=-1)

    p = tl.Tensor(np.array([[0.3]], dtype=np.float64))
    np.testing.assert_allclose(Squares()([[0.1]], p).item(), (0.3 - 0.1) ** 2, rtol=1e-13)
    assert seen == [np.float64]
    with pytest.raises(TypeError, match=r"^Squares: y_true must be numeric"):
        Squares()([["a"]], p)


def test_sparse_categorical_crossentropy_one_sample_and_refusals():
    """Mutants in ``_sparse``: the class-axis check moved (``ndim <= 1`` refuses one sample given as a
    vector), the probability range widened (``1.0`` -> ``2.0``) or its hint dropped."""
    got = losses.SparseCategoricalCrossentropy()(1, np.array([0.2, 0.8]))
    np.testing.assert_allclose(got.item(), -np.log(0.8), rtol=1e-6)
    with pytest.raises(ValueError, match=r"^SparseCategoricalCrossentropy: y_pred must have a class axis, got shape \(\)$"):
        losses.SparseCategoricalCrossentropy()(0, 0.5)
    with pytest.raises(ValueError, match=r"y_pred must be in \[0.0, 1.0\], got 1.5 at index \(0, 0\) \(y_pred holds "
                                         r"probabilities when from_logits=False; pass from_logits=True for raw scores\)$"):
        losses.SparseCategoricalCrossentropy()([0], [[1.5, -0.5]])


def test_circle_needs_one_embedding_per_row():
    """Mutants in ``_embeddings``: the shape error's wording, or the loss/argument it names."""
    with pytest.raises(ValueError, match=r"^Circle: y_pred must hold one embedding per row, shape \(n, d\); got \(2,\)$"):
        losses.Circle()([0, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^Circle: y_pred contains a non-finite value \(nan at index \(0, 0\)\)$"):
        losses.Circle()([0, 1], [[np.nan, 1.0], [0.0, 1.0]])


def _order_warnings(monkeypatch, call):
    import warnings
    monkeypatch.setattr(losses, "_WARNED", set())  # the warning is shown once per process and loss
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if "look swapped" in str(w.message)]


def test_swapped_arguments_warning_fires_exactly_when_targets_are_soft_and_predictions_hard(monkeypatch):
    """Mutants in ``_warn_if_swapped``: the soft-target test's bounds (``>=``/``<=``/``<2``), the one-hot
    row test (axis ignored or inverted), the wording ('one-hot' vs '0/1')."""
    cce, bce = losses.CategoricalCrossentropy(), losses.BinaryCrossentropy()
    got = _order_warnings(monkeypatch, lambda: cce([[0.7, 0.3], [0.2, 0.8]], [[1.0, 0.0], [0.0, 1.0]]))
    assert len(got) == 1 and str(got[0].message).startswith(
        "CategoricalCrossentropy: y_true holds probabilities strictly between 0 and 1 while y_pred is exactly one-hot")
    got = _order_warnings(monkeypatch, lambda: bce([[0.3]], [[1.0]]))
    assert len(got) == 1 and "y_pred is exactly 0/1; the arguments look swapped" in str(got[0].message)
    # hard targets (0 and 1 exactly), or predictions that are 0/1 but not one-hot rows: no warning
    assert _order_warnings(monkeypatch, lambda: cce([[1.0, 0.0]], [[1.0, 0.0]])) == []
    assert _order_warnings(monkeypatch, lambda: bce([[0.0], [1.0]], [[1.0], [0.0]])) == []
    assert _order_warnings(monkeypatch, lambda: cce([[0.7, 0.3]], [[1.0, 1.0]])) == []
