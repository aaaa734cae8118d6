"""Loss edge cases written for mutants mutmut left alive in tinygrad_loss/losses.py (issue 19):
error messages that must name the loss, the argument and the fix, y_true taking y_pred's dtype,
and LossFunctionWrapper passing its keyword arguments on. Expected values are NumPy formulas (for the
circle loss: Sun et al.'s definition anchor by anchor over explicit positive/negative lists, below)."""
import functools
import warnings

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


# --- second pass (issue 19): mutants left alive after the Keras 3 losses and the validators landed -------

def test_squeeze_or_expand_follows_keras_rank_rule():
    """Mutants in ``_fit_rank``: ``and expand_rank_1`` made ``or`` (a rank-2 side expanded instead of the
    other squeezed), the squeeze on another axis (``+1``, ``-2``) or on every size-1 axis (``None``)."""
    col, row = tl.Tensor(np.zeros((3, 1))), tl.Tensor(np.zeros(3))
    a, b = losses.squeeze_or_expand_to_same_rank(col, row)
    assert (a.shape, b.shape) == ((3, 1), (3, 1))  # the rank-1 side gets the axis
    a, b = losses.squeeze_or_expand_to_same_rank(col, row, expand_rank_1=False)
    assert (a.shape, b.shape) == ((3,), (3,))  # Keras: without expand_rank_1 the size-1 axis is squeezed
    a, b = losses.squeeze_or_expand_to_same_rank(tl.Tensor(np.zeros((1, 4))), tl.Tensor(np.zeros((1, 4, 1))))
    assert (a.shape, b.shape) == ((1, 4), (1, 4))  # only the trailing axis goes, not the batch axis of 1
    # what a user sees: (1, 4) targets against (1, 4, 1) predictions are one sample of four features
    y, p = np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[[1.5], [2.0], [2.0], [4.0]]])
    got = losses.MeanSquaredError(reduction="none")(y, p)
    assert got.shape == (1,)
    np.testing.assert_allclose(got.numpy(), [np.mean((y - p[..., 0]) ** 2)], rtol=1e-12)


def test_user_loss_subclass_is_named_in_snake_case_and_must_define_call():
    """Mutants: ``_snake``'s pattern or separator changed (the default name of a user's Loss subclass), and
    ``Loss.call``'s NotImplementedError losing the class name or its text."""

    class SmoothL1Loss(losses.Loss):
        pass

    assert SmoothL1Loss().name == "smooth_l1_loss"
    with pytest.raises(NotImplementedError, match=r"^SmoothL1Loss\.call\(y_true, y_pred\) must return per-sample "
                                                  r"losses$"):
        SmoothL1Loss()([[1.0]], [[2.0]])


def test_loss_repr_shows_its_config():
    """Mutants in ``Loss.__repr__``: the arguments dropped or joined by another separator."""
    assert repr(losses.MeanSquaredError()) == \
        "MeanSquaredError(name='mean_squared_error', reduction='sum_over_batch_size', dtype=None)"
    assert repr(losses.Huber(delta=2.0, reduction="sum")) == \
        "Huber(name='huber_loss', reduction='sum', dtype=None, delta=2.0)"


def test_range_errors_end_with_the_index_and_only_the_right_hint():
    """Mutants: ``_check_range``'s default hint made non-empty, the Poisson/RMSE hints wrapped in other text."""
    with pytest.raises(ValueError, match=r"^BinaryCrossentropy: y_true must be in \[0.0, 1.0\], got 2.0 at index "
                                         r"\(0, 0\)$"):
        losses.BinaryCrossentropy()([[2.0]], [[0.5]])
    with pytest.raises(ValueError, match=r"got -0.5 at index \(0, 0\) \(y_pred is a rate; use exp or softplus on the "
                                         r"output\)$"):
        losses.Poisson()([[1.0]], [[-0.5]])
    with pytest.raises(ValueError, match=r"^RootMeanSquaredError: the weighted mean squared error must be >= 0.0, got "
                                         r"-\d.*\(negative sample weights make the square root undefined\)$"):
        losses.RootMeanSquaredError()([[1.0], [2.0]], [[0.5], [3.0]], sample_weight=[1.0, -1.0])


def test_generalized_cross_entropy_refuses_scores_without_mentioning_from_logits():
    """Mutant in ``_sparse``: the ``from_logits`` default made ``True``, so CategoricalGeneralizedCrossEntropy (which
    has no from_logits) took y_pred = 1.5 as a probability. Its error used to suggest from_logits=True, an
    argument it does not have (fixed: the hint is only given to losses that take from_logits)."""
    with pytest.raises(ValueError, match=r"^CategoricalGeneralizedCrossEntropy: y_pred must be in \[0.0, 1.0\], got 1.5 "
                                         r"at index \(0, 0\)$"):
        losses.CategoricalGeneralizedCrossEntropy()([0], [[1.5, -0.5]])


def test_integer_labels_are_checked_and_named_in_errors():
    """Mutants in ``_labels``: the argument's name or the loss's name dropped from the TypeError for non-numeric
    labels and from the non-finite check, the range in the out-of-range message (``n - 1`` made ``n + 1``/``n - 2``),
    the trailing axis of 1 looked for on axis 1 (``shape[+1]``) or cut to the first axis (``shape[:+1]``)."""
    scce = losses.SparseCategoricalCrossentropy()
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    with pytest.raises(TypeError, match=r"^SparseCategoricalCrossentropy: y_true \(integer class labels\) must be "
                                        r"numeric"):
        scce(["a", "b"], p)
    with pytest.raises(ValueError, match=r"^SparseCategoricalCrossentropy: y_true contains a non-finite value "
                                         r"\(nan at index \(1,\)\)$"):
        scce([0.0, np.nan], p)
    with pytest.raises(ValueError, match=r"^SparseCategoricalCrossentropy: y_true must hold integer class labels, "
                                         r"got 0.5$"):
        scce([0.5, 1.0], p)
    with pytest.raises(ValueError, match=r"^SparseCategoricalCrossentropy: class label 3 is out of range for y_pred "
                                         r"with 3 classes \(labels must be in \[0, 2\]\)$"):
        scce([0, 3], p)
    with pytest.raises(ValueError, match=r"^SparseCategoricalCrossentropy: y_true has shape \(3,\) and y_pred has shape "
                                         r"\(2, 3\); y_true must hold one class index per row of y_pred, i.e. have "
                                         r"shape \(2,\)$"):
        scce([0, 1, 2], p)
    # a trailing axis of 1 is dropped, also for a sequence of rows: labels (2, 3, 1) for y_pred (2, 3, 4)
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.1, 1.0, (2, 3, 4))
    probs /= probs.sum(-1, keepdims=True)
    labels = rng.integers(0, 4, (2, 3))
    expected = -np.log(np.take_along_axis(probs, labels[..., None], -1)[..., 0])
    for given in (labels, labels[..., None], labels.astype(float)[..., None]):
        got = losses.SparseCategoricalCrossentropy(reduction="none")(given, probs)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


def test_ignored_rows_with_a_single_class():
    """Mutant in ``_labels``: the placeholder index for ignored rows made 1 (out of range with one class).
    One class: every kept row has probability 1 after renormalising, so the loss is -log(1 - ε)."""
    got = losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction="none")([0, -1, 0],
                                                                                  np.array([[0.4], [0.7], [1.0]]))
    np.testing.assert_allclose(got.numpy(), [-np.log(1 - 1e-7), 0.0, -np.log(1 - 1e-7)], rtol=1e-6)


def _focal_reference(y, p, alpha, gamma, axis):
    """Keras's categorical focal cross-entropy in NumPy: -Σ_j α_j (1 - p_j)^γ y_j log p_j along ``axis``."""
    p = np.clip(p / p.sum(axis=axis, keepdims=True), 1e-7, 1 - 1e-7)
    return -np.sum(alpha * (1 - p) ** gamma * y * np.log(p), axis=axis)


def test_categorical_focal_per_class_alpha_lies_along_the_class_axis():
    """Mutants in ``_along``: per-class alpha not laid along ``axis`` (``reshape(None)``), or not given y_pred's dtype."""
    y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])  # classes along axis 0: one column per sample
    p = np.array([[0.3, 0.6, 0.1], [0.3, 0.2, 0.5], [0.4, 0.2, 0.4]])
    alpha = np.array([0.1, 0.2, 0.7])
    got = losses.CategoricalFocalCrossentropy(alpha=list(alpha), axis=0, reduction="none")(y, p)
    np.testing.assert_allclose(got.numpy(), _focal_reference(y, p, alpha[:, None], 2.0, 0), rtol=1e-12)
    got = losses.CategoricalFocalCrossentropy(alpha=list(alpha), gamma=1.0, reduction="none")(y.T, p.T)
    np.testing.assert_allclose(got.numpy(), _focal_reference(y.T, p.T, alpha, 1.0, -1), rtol=1e-12)
    # float32 in, float32 out: the per-class weights take y_pred's dtype
    out = losses.CategoricalFocalCrossentropy(alpha=[0.1, 0.2, 0.7])(y.T.astype(np.float32), p.T.astype(np.float32))
    assert out.dtype == np.float32


def test_categorical_focal_alpha_errors_name_the_loss_and_argument():
    """Mutants in ``_class_weights``: the loss's or the argument's name dropped from the error (list and scalar)."""
    with pytest.raises(ValueError, match=r"^CategoricalFocalCrossentropy: alpha must be a finite number, got .*nan"):
        losses.CategoricalFocalCrossentropy(alpha=[0.1, np.nan])
    with pytest.raises(TypeError, match=r"^CategoricalFocalCrossentropy: alpha must be a finite number, got 'a'"):
        losses.CategoricalFocalCrossentropy(alpha="a")


def test_categorical_focal_alpha_list_is_numeric_and_one_per_class():
    """Bugs found reading the ``_class_weights`` mutants (``np.asarray(value, dtype=float)``): strings such as
    ``"0.5"`` were silently taken as numbers and ``["a"]`` raised NumPy's bare conversion error; a list of the
    wrong length failed deep inside ``mul``. Both are now refused naming the loss and ``alpha``."""
    y, p = np.eye(3), np.full((3, 3), 1 / 3)
    with pytest.raises(TypeError, match=r"^CategoricalFocalCrossentropy: alpha must be numeric"):
        losses.CategoricalFocalCrossentropy(alpha=["0.5", "0.5"])
    with pytest.raises(TypeError, match=r"^CategoricalFocalCrossentropy: alpha must be numeric"):
        losses.CategoricalFocalCrossentropy(alpha=["a"])
    with pytest.raises(ValueError, match=r"^CategoricalFocalCrossentropy: alpha has 2 per-class weights but y_pred has "
                                         r"3 classes along axis 1$"):
        losses.CategoricalFocalCrossentropy(alpha=[0.5, 0.5])(y, p)


def test_cross_entropy_clips_probabilities_below_one_and_logits_use_the_class_axis():
    """Mutants in ``_log_probs``: the upper clip ``1 - ε`` dropped or moved (``1 + ε``, ``2 - ε``): Keras gives a
    certain, correct prediction the loss -log(1 - ε), not 0; ``log_softmax`` over every axis (``axis=None``) or its
    default axis instead of the class axis; the renormalising error naming no loss."""
    for cls in (losses.CategoricalCrossentropy, losses.CategoricalFocalCrossentropy):
        got = cls(gamma=0.0) if cls is losses.CategoricalFocalCrossentropy else cls()
        alpha = 0.25 if cls is losses.CategoricalFocalCrossentropy else 1.0
        np.testing.assert_allclose(got(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]])).item(),
                                   -alpha * np.log(1 - 1e-7), rtol=1e-6)
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy()([1], np.array([[0.0, 1.0]])).item(),
                               -np.log(1 - 1e-7), rtol=1e-6)
    x = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]])
    y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    log_softmax = lambda z, axis: z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))  # noqa: E731
    got = losses.CategoricalCrossentropy(from_logits=True, reduction="none")(y, x)
    np.testing.assert_allclose(got.numpy(), -np.sum(y * log_softmax(x, -1), axis=-1), rtol=1e-12)
    got = losses.CategoricalCrossentropy(from_logits=True, axis=0, reduction="none")(y.T, x.T)
    np.testing.assert_allclose(got.numpy(), -np.sum(y.T * log_softmax(x.T, 0), axis=0), rtol=1e-12)
    got = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")([0, 2], x)
    np.testing.assert_allclose(got.numpy(), -log_softmax(x, -1)[[0, 1], [0, 2]], rtol=1e-12)
    with pytest.raises(ValueError, match=r"^CategoricalCrossentropy: a row of y_pred sums to 0 along axis 1; "
                                         r"probabilities cannot be renormalised$"):
        losses.CategoricalCrossentropy()([[1.0, 0.0]], [[0.0, 0.0]])


def test_categorical_axis_out_of_range_is_named():
    """Mutant in ``_probabilities``: the one-hot check's axis validated without the loss's name."""
    with pytest.raises(ValueError, match=r"^CategoricalCrossentropy: axis 2 is out of range for a tensor with 2 "
                                         r"dimension\(s\)$"):
        losses.CategoricalCrossentropy(axis=2)([[1.0, 0.0]], [[0.5, 0.5]])


def test_ctc_input_errors_name_the_loss_and_argument():
    """Mutants in ``_sequences``: the loss's or the argument's name dropped from the y_pred/y_true errors, the
    label-shape check's ``or`` made ``and`` (1-D labels of the right length got through), the message's batch size
    read from the time axis."""
    x = np.zeros((2, 4, 3))
    with pytest.raises(ValueError, match=r"^CTC: y_pred contains a non-finite value \(nan at index \(0, 0, 0\)\)$"):
        losses.CTC()([[1], [2]], np.full((2, 4, 3), np.nan))
    with pytest.raises(TypeError, match=r"^CTC: y_true \(integer label sequences\) must be numeric"):
        losses.CTC()([["a"], ["b"]], x)
    with pytest.raises(ValueError, match=r"^CTC: y_true must hold one label sequence per sample, shape \(2, "
                                         r"max_label_length\); got \(2,\)$"):
        losses.CTC()([1, 2], x)


def test_circle_reference_set_arguments_are_checked():
    """Mutants in ``_embeddings``: ref_embeddings without ref_labels silently ignored (the key looked up as None or
    another spelling), ref_embeddings' errors naming no loss or argument, the
    width check's ``or`` made ``and`` (a 1-D reference set then failed with an IndexError)."""
    emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"^circle: give both ref_labels and ref_embeddings, or neither$"):
        losses.circle([0, 1], emb, ref_embeddings=emb)
    with pytest.raises(ValueError, match=r"^circle: ref_embeddings contains a non-finite value \(nan at index \(0, 0\)\)$"):
        losses.circle([0, 1], emb, ref_labels=[0, 1], ref_embeddings=[[np.nan, 1.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"^circle: ref_embeddings must have shape \(m, 2\); got \(2,\)$"):
        losses.circle([0, 1], emb, ref_labels=[0], ref_embeddings=[1.0, 0.0])
    with pytest.raises(ValueError, match=r"^circle: ref_embeddings must have shape \(m, 2\); got \(1, 3\)$"):
        losses.circle([0, 1], emb, ref_labels=[0], ref_embeddings=[[1.0, 0.0, 0.0]])


def test_loss_function_wrapper_around_a_builtin_keeps_its_mask_and_arguments():
    """Mutants in ``LossFunctionWrapper._values_and_mask``: the built-in function's mask not used (``with_mask``
    looked up as None or another name), or its keyword arguments dropped. Keras: with ignore_class the mean runs
    over the kept rows only."""
    p = np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]])
    wrapped = losses.LossFunctionWrapper(losses.sparse_categorical_crossentropy, ignore_class=-1)
    np.testing.assert_allclose(wrapped([0, -1, 1], p).item(), -(np.log(0.7) + np.log(0.5)) / 2, rtol=1e-12)


def test_sample_weight_and_y_pred_errors_name_the_loss_and_argument():
    """Mutants in ``reduce_weighted_values`` and ``Loss.__call__``: sample_weight/y_pred errors naming no loss or
    another argument, the 1-D hint dropped or reworded, the no-loss default name ``"loss"`` changed."""
    mse = losses.MeanSquaredError()
    with pytest.raises(TypeError, match=r"^MeanSquaredError: sample_weight must be numeric"):
        mse([[1.0]], [[2.0]], sample_weight="a")
    with pytest.raises(ValueError, match=r"^MeanSquaredError: sample_weight contains a non-finite value"):
        mse([[1.0]], [[2.0]], sample_weight=[np.inf])
    with pytest.raises(TypeError, match=r"^MeanSquaredError: y_pred must be numeric"):
        mse([[1.0]], [["a"]])
    with pytest.raises(ValueError, match=r"^MeanSquaredError: sample_weight of shape \(3,\) does not match the per-sample "
                                         r"losses of shape \(\); the last axis of y_true/y_pred is the feature axis, so "
                                         r"1-D inputs are a single sample \(reshape them to \(n, 1\) for n samples\)$"):
        mse([1.0, 2.0, 3.0], [1.0, 2.0, 2.0], sample_weight=[1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"^MeanSquaredError: sample_weight of shape \(3,\) does not match the per-sample "
                                         r"losses of shape \(2,\)$"):
        mse([[1.0], [2.0]], [[1.0], [3.0]], sample_weight=[1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"^loss: sample_weight of shape \(3,\)"):
        losses.reduce_weighted_values(tl.Tensor([1.0, 2.0]), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"^MeanSquaredError: y_true has shape \(2, 2\) but y_pred has shape \(2, 3\); "
                                         r"they must match \(only a trailing axis of size 1 on one side is allowed, e.g. "
                                         r"\(n,\) against \(n, 1\)\)$"):
        mse(np.zeros((2, 2)), np.zeros((2, 3)))


# --- third pass: survivors of a complete run on the current losses.py --------------------------------------


def circle_reference(labels, emb, ref_labels=None, ref=None, gamma=80.0, margin=0.4, remove_diagonal=True):
    """Circle loss per anchor in float64: logsumexp over the positives and the negatives only
    (an anchor without a positive or without a negative has loss 0)."""
    emb = np.asarray(emb, dtype=np.float64)
    ref = emb if ref is None else np.asarray(ref, dtype=np.float64)
    ref_labels = labels if ref_labels is None else ref_labels
    out = []
    for i in range(len(labels)):
        d = np.maximum(1.0 - ref @ emb[i], 0.0)
        pos = [j for j in range(len(ref)) if ref_labels[j] == labels[i] and not (remove_diagonal and j == i)]
        neg = [j for j in range(len(ref)) if ref_labels[j] != labels[i]]
        if not pos or not neg:
            out.append(0.0)
            continue
        p = np.logaddexp.reduce([-gamma * max(margin + d[j], 0.0) * (margin - d[j]) for j in pos])
        n = np.logaddexp.reduce([gamma * max(1.0 + margin - d[j], 0.0) * (1.0 - margin - d[j]) for j in neg])
        out.append(np.logaddexp(0.0, p + n))
    return np.array(out)


EMB = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.8, -0.6]])


def test_circle_label_errors_name_the_arguments_that_hold_them():
    """Mutants in ``_embeddings``: the shapes in the error for y_true (``pred_shape`` passed as None or dropped), and
    for ref_labels: the loss's name (``None``), ``pred_shape`` (None or dropped). ref_labels' errors used to say
    ``y_true``/``y_pred`` (fixed in this pass: ``_labels`` takes the argument names)."""
    with pytest.raises(ValueError, match=r"^circle: y_true has shape \(3,\) and y_pred has shape \(4, 2\); y_true must "
                                         r"hold one class index per row of y_pred, i.e. have shape \(4,\)$"):
        losses.circle([0, 0, 1], EMB)
    ref = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]
    with pytest.raises(ValueError, match=r"^circle: ref_labels has shape \(2,\) and ref_embeddings has shape \(3, 2\); "
                                         r"ref_labels must hold one class index per row of ref_embeddings, i\.e\. have "
                                         r"shape \(3,\)$"):
        losses.circle([0, 0, 1, 1], EMB, ref_labels=[0, 1], ref_embeddings=ref)
    with pytest.raises(ValueError, match=r"^circle: ref_labels must hold integer class labels, got 1\.5$"):
        losses.circle([0, 0, 1, 1], EMB, ref_labels=[0, 1.5, 1], ref_embeddings=ref)
    with pytest.raises(ValueError, match=r"^circle: ref_labels contains a non-finite value \(nan at index \(1,\)\)$"):
        losses.circle([0, 0, 1, 1], EMB, ref_labels=[0, np.nan, 1], ref_embeddings=ref)
    with pytest.raises(TypeError, match=r"^circle: ref_labels \(integer class labels\) must be numeric"):
        losses.circle([0, 0, 1, 1], EMB, ref_labels=["a", "b", "c"], ref_embeddings=ref)


def test_circle_reference_embeddings_take_the_embeddings_dtype():
    """Mutant in ``_embeddings``: ref_embeddings converted with no dtype (a list then becomes float32 next to float64
    embeddings, and a float64 array stays float64 next to float32 ones)."""
    labels, ref_labels = [0, 0, 1, 1], [0, 1, 1]
    ref = [[0.1, 0.995], [0.3, -0.7], [0.9, 0.2]]  # 0.1, 0.3, ... are not float32 numbers
    expected = circle_reference(labels, EMB, ref_labels, ref, gamma=4.0, margin=0.25, remove_diagonal=False)
    out = losses.circle(labels, EMB, ref_labels=ref_labels, ref_embeddings=ref, gamma=4.0, margin=0.25,
                        remove_diagonal=False)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    out32 = losses.circle(labels, EMB.astype(np.float32), ref_labels=ref_labels, ref_embeddings=np.array(ref),
                          gamma=4.0, margin=0.25, remove_diagonal=False)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.numpy(), expected, rtol=1e-5)


def test_circle_stand_in_for_log_zero_is_below_every_real_term():
    """Mutants in ``_log_zero``: float32/float64 given float16's stand-in -3e4 (always, or with the dtype test
    inverted). With gamma = 1e6 a positive pair at distance 0 has the term -0.16 gamma = -1.6e5, far below -3e4, so
    a stand-in of -3e4 for the masked entries outweighs it; an anchor with no positive then gets a huge loss
    instead of 0."""
    labels = [0, 0, 1]
    emb = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    expected = circle_reference(labels, emb, gamma=1e6)
    assert expected[2] == 0.0 and expected[0] == pytest.approx(0.68e6, rel=1e-12)  # softplus(-0.16 γ + 0.84 γ)
    for dtype in (np.float64, np.float32):
        out = losses.circle(labels, emb.astype(dtype), gamma=1e6)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_circle_in_float16_has_no_overflow_for_an_anchor_without_positives():
    """Mutants: ``_log_zero`` giving float16 the stand-in -1e30 (the dtype test made always false), or
    ``_masked_logsumexp`` asking ``_log_zero(None)``. -1e30 is -inf in float16: the anchor's log-sum-exp over
    nothing is then log 0, with NumPy's divide-by-zero and invalid-value warnings on the way (the stand-in exists
    so that this row stays finite)."""
    labels = [0, 0, 1]  # anchor 2 has no positive
    emb = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    e = tl.Tensor(emb.astype(np.float16), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = losses.circle(labels, e, gamma=2.0)
        out.sum().backward()
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.numpy().astype(np.float64), circle_reference(labels, emb, gamma=2.0), rtol=2e-3)
    assert np.all(np.isfinite(e.grad.numpy()))


def test_get_lists_every_valid_name_in_case_insensitive_order():
    """Mutants in ``get``: the valid names joined with another separator, or sorted by code point (``key`` dropped
    or None: every capitalised name first) or by ``upper()`` (then ``_`` sorts after the letters:
    ``MeanAbsoluteError`` before ``mean_absolute_error``)."""
    with pytest.raises(ValueError, match=r"^losses\.get: unknown loss 'nope'; valid names are: ") as err:
        losses.get("nope")
    names = str(err.value).split("valid names are: ", 1)[1].split(", ")
    assert {"mse", "MSE", "mean_absolute_error", "MeanAbsoluteError", "huber_loss", "Huber", "ctc"} <= set(names)
    assert all(losses.get(name) is not None for name in names)  # each listed item is a name get() takes
    assert names == sorted(names, key=str.lower)


def test_get_config_dicts_and_refusals_name_what_was_wrong():
    """Mutants in ``get``: a dict without ``config`` (its default ``{}`` made None or dropped), a class_name that is
    not a string looked up anyway (a list is unhashable: TypeError), and the three refusals' messages dropped or
    naming ``NoneType`` instead of the type given."""
    huber = losses.get({"class_name": "Huber"})
    assert type(huber) is losses.Huber and huber.delta == 1.0 and huber.reduction == "sum_over_batch_size"
    with pytest.raises(ValueError, match=r"^losses\.get: unknown loss class_name \['mse'\] in \{'class_name': \['mse'\]\}$"):
        losses.get({"class_name": ["mse"]})
    with pytest.raises(ValueError, match=r"^losses\.get: unknown loss class_name 'Nope' in \{'class_name': 'Nope'\}$"):
        losses.get({"class_name": "Nope"})
    with pytest.raises(TypeError, match=r"^losses\.get: int is not a Loss subclass$"):
        losses.get(int)
    with pytest.raises(TypeError, match=r"^losses\.get: expected a loss name, a Loss, a config dict or a callable; "
                                        r"got float$"):
        losses.get(4.5)


def test_sample_weight_takes_the_losses_dtype():
    """Mutant in ``reduce_weighted_values``: sample_weight converted with no dtype (a list is then float32, so a
    weight of 0.1 is off by 1.5e-9 next to float64 losses, and a float64 array made a float32 loss float64)."""
    y = np.array([[1.0], [2.0], [4.0]])
    p = np.array([[1.5], [1.0], [3.0]])
    w = [0.1, 0.3, 0.7]
    per_sample = ((y - p) ** 2)[:, 0]
    got = losses.MeanSquaredError()(y, p, sample_weight=w)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.item(), np.sum(np.array(w) * per_sample) / 3, rtol=1e-14)
    got32 = losses.MeanSquaredError()(y.astype(np.float32), p.astype(np.float32), sample_weight=np.array(w))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32.item(), np.sum(np.array(w) * per_sample) / 3, rtol=1e-6)


def test_a_single_number_is_one_sample_with_one_feature():
    """Mutants in ``_same_shape``: a 0-d y_true or y_pred not reshaped to ``(1,)`` (``reshape`` without its shape).
    A 0-d y_pred has no class count for per-class focal weights, a 0-d y_true none for categorical label
    smoothing (IndexError). Keras formulas, with one class for the categorical loss: the
    renormalised prediction is 1, clipped to 1 - 1e-7."""
    t, p, s = np.float64(0.3), np.float64(0.6), 0.1
    z = t * (1 - s) + s / 2
    cases = [
        (losses.MeanSquaredError(reduction=None), (t - p) ** 2),
        (losses.BinaryCrossentropy(label_smoothing=s, reduction=None), -(z * np.log(p) + (1 - z) * np.log(1 - p))),
        (losses.CategoricalCrossentropy(label_smoothing=s, reduction=None), -(t * (1 - s) + s) * np.log(1 - 1e-7)),
        (losses.Hinge(reduction=None), max(1 - t * p, 0.0)),  # labels other than 0/1 are used as given
        # alpha for the one class: -α (1 - p)² y log p with p = 1 - 1e-7
        (losses.CategoricalFocalCrossentropy(alpha=[0.5], reduction=None), -0.5 * 1e-14 * t * np.log(1 - 1e-7)),
    ]
    for loss, expected in cases:
        got = loss(t, p)
        assert got.shape == () and got.dtype == np.float64, type(loss).__name__  # one sample: one value
        np.testing.assert_allclose(got.item(), expected, rtol=1e-6, err_msg=type(loss).__name__)


def test_mean_with_sample_weight_is_zero_when_the_weights_sum_to_zero():
    """Mutant in ``reduce_weighted_values``: ``total * 0`` made ``total * 1`` when ``Σ w = 0`` (Keras divides with
    ``divide_no_nan``: 0, not the weighted sum). Weights 1 and -1 on losses 1 and 4 sum to 0 with a total of -3."""
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    p = tl.Tensor(np.zeros((2, 1)), requires_grad=True)
    got = loss(np.array([[1.0], [2.0]]), p, sample_weight=[1.0, -1.0])
    assert got.item() == 0.0
    got.backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros((2, 1)))


def test_integer_and_boolean_tensors_become_float_constants_of_the_losses_dtype():
    """Mutants in ``_as_tensor``'s branch for a Tensor that is not float (comparisons, argmax): the constant built
    from None, cast with ``astype(None)`` (float64 always) or with ``dtype and default`` (the default float32 when
    a dtype is asked for, float64 when none is). Mixed with float16 or float32, a wrong cast shows in the result's
    dtype."""
    x = np.array([[0.2, 0.9], [0.7, 0.4]])
    y_bool = tl.Tensor(x) > 0.5
    y_int = tl.Tensor(x).argmax(axis=-1)  # [1, 0]
    assert y_bool.dtype == np.bool_ and y_int.dtype.kind == "i"
    expected = np.mean((x.round() - x) ** 2)
    for dtype in (np.float16, np.float32, np.float64):
        got = losses.MeanSquaredError()(y_bool, tl.Tensor(x, dtype=dtype))
        assert got.dtype == dtype
        np.testing.assert_allclose(got.item(), expected, rtol=1e-3 if dtype == np.float16 else 1e-6)
        got = losses.sparse_categorical_crossentropy(y_int, tl.Tensor(x, dtype=dtype))
        assert got.dtype == dtype
        got = losses.MeanSquaredError(dtype="float16")(y_int, tl.Tensor(x[:, :1], dtype=dtype))
        assert got.dtype == np.float16
    got = losses.MeanSquaredError()(x.round(), y_bool)  # y_pred of no float dtype: the default dtype
    assert got.dtype == np.float32 and got.item() == 0.0
    assert losses.mean_squared_error(y_bool, y_bool).dtype == np.float32


def _op_scopes(root):
    seen, stack, scopes = set(), [root], set()
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            scopes |= set() if t.is_leaf else {t.scope}
            stack.extend(t.parents)
    return scopes


def test_a_class_inside_a_users_scope_does_not_repeat_its_own():
    """Mutant in ``_scope.__enter__``: the suffix test ``endswith("/" + name)`` changed, so a class called inside a
    user's name scope opened its scope a second time when calling its function
    (``Model/MeanSquaredError/MeanSquaredError``)."""
    with tl.name_scope("Model"):
        out = losses.MeanSquaredError()([[1.0, 2.0]], [[0.0, 0.0]])
        wrapped = losses.LossFunctionWrapper(losses.huber)([[1.0, 2.0]], [[0.0, 0.0]])
    assert _op_scopes(out) == {"Model/MeanSquaredError"}
    assert _op_scopes(wrapped) == {"Model/Huber"}


def test_loss_function_wrapper_names_a_nameless_callable_loss_and_refuses_a_non_callable():
    """Mutants in ``LossFunctionWrapper.__init__``: the fallback name ``"loss"`` for a callable without
    ``__name__`` (a ``functools.partial``) made None (then the class's snake name), another string, or dropped
    (AttributeError); the non-callable error's message dropped or naming ``NoneType``."""
    def powered(y_true, y_pred, power=2):
        return tl.mean(tl.abs(y_pred - y_true) ** power, axis=-1)

    loss = losses.LossFunctionWrapper(functools.partial(powered, power=3))
    assert loss.name == "loss" and loss.get_config()["name"] == "loss"
    out = loss([[1.0, 2.0]], [[0.0, 0.0]])
    assert out.item() == (1.0 + 8.0) / 2 and out.scope == "loss"
    with pytest.raises(TypeError, match=r"^LossFunctionWrapper: fn must be callable, got int$"):
        losses.LossFunctionWrapper(5)


def test_reduce_weighted_values_names_the_loss_it_reduces_for_in_a_reduction_error():
    """Mutant in ``_check_reduction``: its default name ``"Loss"`` changed. Called directly, ``reduce_weighted_values``
    used that default, so a bad reduction named a ``Loss`` that was never built; it now names the ``loss`` it is
    given, as its sample_weight errors do (fixed in this pass)."""
    values = tl.Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"^loss: reduction must be one of \('sum_over_batch_size', 'sum', 'none', "
                                         r"'mean_with_sample_weight'\), 'mean' or None; got 'nope'$"):
        losses.reduce_weighted_values(values, reduction="nope")
    with pytest.raises(TypeError, match=r"^Quartic: reduction must be a string, got 5 of type int$"):
        losses.reduce_weighted_values(values, reduction=5, loss="Quartic")
    with pytest.raises(ValueError, match=r"^MeanSquaredError: reduction must be one of"):
        losses.MeanSquaredError(reduction="average")


def test_a_loss_functions_keyword_arguments_may_be_given_by_position():
    """Import-time mutant of ``_loss_function`` (its ``with_mask``): the positional arguments after y_true and
    y_pred dropped when binding, so ``huber(y, p, 0.5)`` silently used delta = 1. mutmut cannot switch it on (the
    function runs when the module is imported); it was switched on with ``MUTANT_UNDER_TEST`` set before the
    import, and planted by hand. Huber: ½ x² for |x| <= δ, δ |x| - ½ δ² beyond."""
    y, p, delta = np.array([[0.0, 0.0]]), np.array([[0.3, 2.0]]), 0.5
    x = np.abs(p - y)
    expected = np.mean(np.where(x <= delta, 0.5 * x ** 2, delta * x - 0.5 * delta ** 2), axis=-1)
    np.testing.assert_allclose(losses.huber(y, p, delta).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(losses.huber(y, p, delta=delta).numpy(), expected, rtol=1e-12)


def _numpy_max_dims():
    """The most dimensions a NumPy array may have (64 in NumPy 2, 32 in NumPy 1), found by trying."""
    n = 1
    while True:
        try:
            np.empty((1,) * (n + 1))
        except ValueError:
            return n
        n += 1


def test_a_loss_class_refuses_at_construction_an_axis_no_numpy_array_can_have():
    """Import-time mutant ``_keep_checked`` 7 (the construction-time range bound 64 made 65): ``axis=64`` was
    accepted by the class and refused only at the first call. NumPy arrays have at most 64 dimensions, so an axis
    outside ``[-64, 64)`` can fit no input: the class refuses it when built; an axis inside waits for the rank."""
    top = _numpy_max_dims()
    for cls in (losses.CategoricalCrossentropy, losses.CosineSimilarity, losses.Dice):
        for bad in (top, -top - 1):
            with pytest.raises(ValueError, match=rf"^{cls.__name__}: axis {bad} is out of range"):
                cls(axis=bad)
        for kept in (top - 1, -top):
            assert cls(axis=kept).axis == kept  # kept as given; checked against the inputs' rank at the call


def test_a_loss_functions_bad_keyword_argument_error_names_the_function_and_the_argument():
    """Import-time mutant ``_loss_function`` 66 (``with_mask`` checking the given keyword arguments under the
    name ``None``): ``huber(y, p, delta=-1)`` said "None: delta ...". Called as a function, a loss names itself;
    as a class, the class."""
    y, p = [[0.0, 1.0]], [[0.5, 0.5]]
    for call in (lambda: losses.huber(y, p, delta=-1.0), lambda: losses.huber(y, p, -1.0)):
        with pytest.raises(ValueError, match=r"^huber: delta must be"):
            call()
    with pytest.raises(TypeError, match=r"^categorical_crossentropy: from_logits must be"):
        losses.categorical_crossentropy(y, p, from_logits="yes")
    with pytest.raises(ValueError, match=r"^Huber: delta must be"):
        losses.Huber(delta=-1.0)


def test_fit_gives_circle_its_integer_labels_as_they_are():
    """Import-time mutant ``_loss_function`` 85 (``same_shape_inputs`` defaulting to True for every input rule):
    fit then converted the labels of a class-index loss to the model's float dtype once per fit, and float32
    cannot tell 2**24 from 2**24 + 1, so two classes became one. Circle's labels are only compared for equality:
    renaming the classes 0, 1 to 2**24, 2**24 + 1 changes nothing, in fit as in a direct call."""
    from tinygrad_loss import optim
    from tinygrad_loss.nn import Dense, Sequential

    x = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, -1.0], [2.0, -1.0, 0.0], [-1.0, 0.5, 1.0]], dtype=np.float32)
    small = np.array([0, 1, 0, 1])
    history = []
    for labels in (small, small + 2 ** 24):
        tl.nn.clear_session()
        model = Sequential([Dense(2, kernel_initializer="ones", bias_initializer="zeros")])
        model.compile(optimizer=optim.SGD(learning_rate=0.0), loss=losses.Circle())
        history.append(model.fit(x, labels, epochs=1, batch_size=4, verbose=0).history["loss"][0])
        direct = losses.Circle()(labels, model(tl.Tensor(x)))
        np.testing.assert_allclose(history[-1], direct.item(), rtol=1e-6)
    np.testing.assert_allclose(history[1], history[0], rtol=1e-6)


# --- survivors of mutating the loss formulas themselves (tools/undecorate_for_mutmut.py, issue 19) ------------

def _np_rank3():
    rng = np.random.default_rng(19)
    return rng.uniform(0.1, 2.0, (2, 3, 4)), rng.uniform(0.1, 2.0, (2, 3, 4))


_LAST_AXIS_FORMULAS = {  # per-element NumPy formulas, averaged (or, for kl, summed) over the last axis below
    "huber": lambda t, p: np.where(np.abs(p - t) <= 1.0, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5),
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)),
    "mean_absolute_percentage_error": lambda t, p: 100.0 * np.abs(t - p) / np.abs(t),
    "mean_squared_logarithmic_error": lambda t, p: (np.log1p(p) - np.log1p(t)) ** 2,
    "poisson": lambda t, p: p - t * np.log(p + 1e-7),
    "squared_hinge": lambda t, p: np.maximum(1.0 - t * p, 0.0) ** 2,
}


@pytest.mark.parametrize("name", sorted(_LAST_AXIS_FORMULAS))
def test_elementwise_losses_reduce_the_last_axis_of_rank_3_inputs(name):
    """Mutants: ``axis=-1`` made ``axis=+1`` in the bodies of huber, log_cosh, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, poisson and squared_hinge (the same axis for 2-D inputs, not for 3-D)."""
    t, p = _np_rank3()
    got = getattr(losses, name)(t, p)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got.data, _LAST_AXIS_FORMULAS[name](t, p).mean(axis=-1), rtol=1e-10)


def test_kl_divergence_and_categorical_hinge_reduce_the_last_axis_of_rank_3_inputs():
    """Mutants: ``axis=-1`` made ``axis=+1`` in kl_divergence's sum and in categorical_hinge's ``pos``/``neg``."""
    t, p = _np_rank3()
    t, p = t / 2.0, p / 2.0  # inside [ε, 1]: the clip does nothing
    np.testing.assert_allclose(losses.kl_divergence(t, p).data, np.sum(t * np.log(t / p), axis=-1), rtol=1e-10)
    onehot = np.eye(4)[np.array([[0, 1, 2], [3, 0, 1]])]
    pos, neg = np.sum(onehot * p, axis=-1), np.max((1.0 - onehot) * p, axis=-1)
    np.testing.assert_allclose(losses.categorical_hinge(onehot, p).data, np.maximum(neg - pos + 1.0, 0.0), rtol=1e-12)


def test_kl_divergence_clips_both_sides_to_eps_and_one():
    """Mutants in kl_divergence: either ``clip`` without its upper bound, with 2.0 for 1.0, or with no lower
    bound for y_pred (log of y_true/0). Keras clips both to [ε, 1]."""
    t, p = np.array([[3.0, 0.5]]), np.array([[0.0, 3.0]])
    ct, cp = np.clip(t, 1e-7, 1.0), np.clip(p, 1e-7, 1.0)
    np.testing.assert_allclose(losses.kl_divergence(t, p).data, np.sum(ct * np.log(ct / cp), axis=-1), rtol=1e-12)


@pytest.mark.parametrize("cls", [losses.SparseCategoricalCrossentropy, losses.CategoricalFocalCrossentropy])
def test_a_row_of_probabilities_summing_to_zero_is_refused_naming_the_loss(cls):
    """Mutants: the loss name given to ``_log_probs`` made None, ``XX…XX``, lower or upper case in
    sparse_categorical_crossentropy and categorical_focal_crossentropy."""
    y_true = [1, 0] if cls is losses.SparseCategoricalCrossentropy else [[0.0, 1.0], [1.0, 0.0]]
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: a row of y_pred sums to 0"):
        cls()(y_true, [[0.0, 0.0], [0.5, 0.5]])


def _np_bce(z, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(z * np.log(p) + (1 - z) * np.log(1 - p))


def test_binary_focal_crossentropy_with_gamma_0_is_binary_crossentropy():
    """Mutants: the arguments of the ``gamma == 0`` branch's ``_bce_terms`` dropped or made None (z, y_pred,
    from_logits) in binary_focal_crossentropy."""
    z, p = np.array([[1.0, 0.0, 1.0]]), np.array([[0.8, 0.3, 0.4]])
    np.testing.assert_allclose(losses.binary_focal_crossentropy(z, p, gamma=0.0).data,
                               _np_bce(z, p).mean(axis=-1), rtol=1e-7)
    x = np.array([[2.0, -1.0, 0.5]])
    np.testing.assert_allclose(losses.binary_focal_crossentropy(z, x, gamma=0.0, from_logits=True).data,
                               (np.logaddexp(0.0, x) - x * z).mean(axis=-1), rtol=1e-12)


def test_binary_focal_crossentropy_with_gamma_0_has_a_finite_gradient_where_p_t_is_1():
    """Mutants: the ``gamma == 0`` branch's ``_bce_terms`` given None or too few arguments in
    binary_focal_crossentropy. As for binary cross-entropy, the clip to [ε, 1-ε] makes the gradient 0 there
    (the ``if gamma or True`` mutant is equivalent: pow's VJP is 0 for exponent 0, also at base 0)."""
    p = tl.Tensor(np.array([[1.0, 0.0]]), requires_grad=True)
    losses.binary_focal_crossentropy([[1.0, 0.0]], p, gamma=0.0).sum().backward()
    np.testing.assert_array_equal(p.grad, [[0.0, 0.0]])


def test_categorical_focal_crossentropy_from_logits_along_axis_0():
    """Mutants: ``softmax(y_pred, axis=axis)`` made ``axis=None`` or given no axis in
    categorical_focal_crossentropy (the focal factor's probabilities over the wrong axis)."""
    x = np.array([[2.0, -1.0], [0.5, 0.0], [-1.0, 1.5]])
    y = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    e = np.exp(x - x.max(axis=0))
    sm = e / e.sum(axis=0)
    want = -np.sum(0.25 * (1 - sm) ** 2.0 * y * np.log(sm), axis=0)
    got = losses.categorical_focal_crossentropy(y, x, from_logits=True, axis=0)
    np.testing.assert_allclose(got.data, want, rtol=1e-10)


def _ctc_logp(x):
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def test_ctc_label_with_a_repeat_after_another_label_needs_no_extra_frame():
    """Mutant: ``y_true[:, :-1]`` made ``y_true[:, :+1]`` in ctc's count of repeated labels (every label compared
    with the first): [1, 2, 1] in 3 frames is feasible, with the single alignment 1, 2, 1."""
    x = np.random.default_rng(7).normal(size=(1, 3, 3))
    lp = _ctc_logp(x)[0]
    got = losses.ctc(np.array([[1, 2, 1]]), x)
    np.testing.assert_allclose(got.data, [-(lp[0, 1] + lp[1, 2] + lp[2, 1])], rtol=1e-10)


def test_ctc_padding_after_the_label_is_not_a_repeat():
    """Mutants: ``np.arange(1, y_true.shape[1])`` made ``np.arange(1, None)`` or ``np.arange(1, )`` in ctc (the
    padding zeros counted as repeats): [1, 0, 0] in one frame is the label 1, probability softmax(x)[1]."""
    x = np.array([[[0.3, 1.2, -0.4]]])
    np.testing.assert_allclose(losses.ctc(np.array([[1, 0, 0]]), x).data, [-_ctc_logp(x)[0, 0, 1]], rtol=1e-12)


def test_ctc_of_empty_label_sequences_is_all_blanks():
    """Mutant: ``np.maximum(2 * lengths - 1, 0)`` made ``..., 1)`` in ctc: with labels of length 0 the
    lattice has one position and index 1 does not exist. The loss is -Σ_t log softmax(x_t)[blank]."""
    x = np.random.default_rng(3).normal(size=(2, 4, 3))
    np.testing.assert_allclose(losses.ctc(np.zeros((2, 0), dtype=np.int64), x).data,
                               -_ctc_logp(x)[:, :, 0].sum(axis=1), rtol=1e-10)


_Y01, _P01 = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), np.array([[0.7, 0.2, 0.1], [0.3, 0.6, 0.1]])
_KERAS_DEFAULTS = [  # the defaults of keras.losses' functions, from Keras's documentation
    ("binary_crossentropy", _Y01, _P01, dict(from_logits=False, label_smoothing=0.0)),
    ("binary_focal_crossentropy", _Y01, _P01,
     dict(apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0)),
    ("categorical_crossentropy", _Y01, _P01, dict(from_logits=False, label_smoothing=0.0)),
    ("categorical_focal_crossentropy", _Y01, _P01, dict(alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0)),
    ("sparse_categorical_crossentropy", [0, 1], _P01, dict(from_logits=False)),
    ("categorical_generalized_cross_entropy", [0, 1], _P01, dict(q=0.5)),
    ("huber", _Y01, _P01 * 5.0, dict(delta=1.0)),
    ("tversky", _Y01, _P01, dict(alpha=0.5, beta=0.5)),
    ("circle", [0, 0, 1], np.array([[1.0, 0.2], [0.8, 0.5], [0.1, 1.0]]),
     dict(remove_diagonal=True, gamma=80.0, margin=0.4)),
]


@pytest.mark.parametrize("name,y,p,keras", _KERAS_DEFAULTS, ids=[c[0] for c in _KERAS_DEFAULTS])
def test_loss_functions_default_to_kerass_keyword_arguments(name, y, p, keras):
    """Mutants: every default of a formula's signature changed (from_logits True, label_smoothing 1.0, alpha 1.25,
    gamma 3.0, q 1.5, delta 2.0, beta 1.5, remove_diagonal False, circle's gamma 81, margin 1.4). Under mutmut
    they cannot be killed (the decorator reads the defaults of the original's signature once, at import, and
    passes every argument); this test catches them in the real code (seen with huber's delta planted as 2.0)."""
    fn = getattr(losses, name)
    np.testing.assert_array_equal(fn(y, p).data, fn(y, p, **keras).data)
    if "apply_class_balancing" in keras:  # alpha's default is read only with class balancing on
        np.testing.assert_array_equal(fn(y, p, apply_class_balancing=True).data,
                                      fn(y, p, **{**keras, "apply_class_balancing": True}).data)
        keras = {**keras, "apply_class_balancing": True}
    # and each default matters for these inputs: the Keras value is not a no-op
    for key, value in keras.items():
        other = (not value) if isinstance(value, bool) else (value * 0.5 if key != "label_smoothing" else 0.5)
        assert not np.array_equal(fn(y, p, **{**keras, key: other}).data, fn(y, p, **keras).data), key
