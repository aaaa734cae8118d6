"""The numbers behind the loss pictures (tinygrad_loss.viz.landscape), checked against closed forms,
direct evaluation and optimizers stepped by hand. No matplotlib needed here."""
import functools
import math

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import losses
from tinygrad_loss.nn import Dense, Sequential, clear_session
from tinygrad_loss.optim import SGD, Adagrad, Adam, RMSprop
from tinygrad_loss.viz import (filter_normalized_direction, loss_curves, loss_surface, model_loss_surface,
                               optimizer_paths)


def _away_from(x, kinks, gap=1e-6):
    return np.all(np.abs(np.subtract.outer(x, kinks)) > gap, axis=1)


# --- the atlas -----------------------------------------------------------------------------------

def test_regression_atlas_derivatives_are_the_closed_forms():
    curves = loss_curves(kind="regression", steps=201)
    e = np.linspace(-3, 3, 201)
    sgn = np.sign(e)
    expected = {  # (value, derivative) as functions of the error e = y_pred - y_true
        "mse": (e ** 2, 2 * e),
        "mae": (np.abs(e), sgn),
        "log_cosh": (np.log(np.cosh(e)), np.tanh(e)),
        **{f"huber(delta={d:g})": (np.where(np.abs(e) <= d, 0.5 * e ** 2, d * np.abs(e) - 0.5 * d * d),
                                   np.clip(e, -d, d)) for d in (0.5, 1.0, 2.0)},
    }
    for name, (value, deriv) in expected.items():
        x, v, d = curves[name]
        np.testing.assert_allclose(x, e)
        np.testing.assert_allclose(v, value, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(d, deriv, rtol=1e-10, atol=1e-12, err_msg=name)
    # MSLE with target 1: (log(max(y_pred, eps) + 1) - log 2)²; derivative 2 (log(y_pred + 1) - log 2) / (y_pred + 1)
    x, v, d = curves["msle"]
    y_pred = 1 + x
    inside = y_pred > 1e-6
    np.testing.assert_allclose(v, (np.log(np.maximum(y_pred, 1e-7) + 1) - np.log(2)) ** 2, rtol=1e-9)
    yp = y_pred[inside]
    np.testing.assert_allclose(d[inside], 2 * (np.log(yp + 1) - np.log(2)) / (yp + 1), rtol=1e-9)
    assert np.all(d[y_pred < 0] == 0)  # clipped at eps: no gradient below zero


def test_classification_atlas_derivatives_are_the_closed_forms():
    curves = loss_curves(kind="classification", steps=101)
    x, v, d = curves["binary_crossentropy"]
    assert x.min() > 0 and x.max() < 1
    np.testing.assert_allclose(v, -np.log(x), rtol=1e-7)
    np.testing.assert_allclose(d, -1 / x, rtol=1e-7)
    s, v, d = curves["hinge"]
    keep = _away_from(s, [1.0])
    np.testing.assert_allclose(v, np.maximum(1 - s, 0))
    np.testing.assert_allclose(d[keep], np.where(s < 1, -1.0, 0.0)[keep])
    s, v, d = curves["squared_hinge"]
    np.testing.assert_allclose(v, np.maximum(1 - s, 0) ** 2, atol=1e-12)
    np.testing.assert_allclose(d, -2 * np.maximum(1 - s, 0), atol=1e-12)
    if hasattr(losses, "BinaryFocalCrossentropy"):
        p = curves["focal(gamma=0)"][0]
        for g in (0.0, 2.0, 5.0):  # -(1-p)^g log p, alpha unused without class balancing
            _, v, d = curves[f"focal(gamma={g:g})"]
            np.testing.assert_allclose(v, -(1 - p) ** g * np.log(p), rtol=1e-6)
            np.testing.assert_allclose(d, g * (1 - p) ** max(g - 1, 0) * np.log(p) * (g > 0) - (1 - p) ** g / p,
                                       rtol=1e-6)


def test_atlas_keys_and_custom_losses():
    def quartic(y_true, y_pred):
        return ((y_pred - y_true) ** 4).mean(axis=-1)
    curves = loss_curves(["mse", losses.Huber(delta=0.25), {"quartic": quartic}.get("quartic")],
                         x=[-2.0, 0.5, 1.0])
    assert list(curves) == ["mse", "huber_loss(delta=0.25)", "quartic"]
    x, v, d = curves["quartic"]
    np.testing.assert_allclose(d, 4 * x ** 3)
    named = loss_curves({"squared": "mse"}, x=[1.0, 2.0])
    np.testing.assert_allclose(named["squared"][2], [2.0, 4.0])


def test_atlas_loss_that_reduces_over_the_batch_is_evaluated_point_by_point():
    def mean_of_squares(y_true, y_pred):  # returns a scalar, not per-sample values
        return ((y_pred - y_true) ** 2).mean()
    (x, v, d), = loss_curves([mean_of_squares], x=[-1.0, 3.0]).values()
    np.testing.assert_allclose(v, [1.0, 9.0])
    np.testing.assert_allclose(d, [-2.0, 6.0])


def test_atlas_rejects_bad_arguments():
    with pytest.raises(ValueError, match="loss_curves: kind"):
        loss_curves(kind="ranking")
    with pytest.raises(ValueError, match="loss_curves: losses holds 'msee'"):
        loss_curves(["msee"])
    with pytest.raises(ValueError, match="loss_curves: two losses are both labelled 'mse'"):
        loss_curves(["mse", "mse"])
    with pytest.raises(ValueError, match="loss_curves: steps"):
        loss_curves(steps=1)
    with pytest.raises(ValueError, match="loss_curves: x"):
        loss_curves(x=[0.0, np.nan])


# --- loss_surface --------------------------------------------------------------------------------

def rosenbrock_batched(w):
    return (1 - w[..., 0]) ** 2 + 100 * (w[..., 1] - w[..., 0] ** 2) ** 2


def test_surface_follows_the_meshgrid_convention_and_direct_evaluation():
    calls = []

    def fn(w):
        calls.append(w.shape)
        return rosenbrock_batched(w)
    X, Y, Z = loss_surface(fn, (-2, 2), (-1, 3), steps=(7, 5))
    assert X.shape == Y.shape == Z.shape == (5, 7)
    np.testing.assert_allclose(X[0], np.linspace(-2, 2, 7))
    np.testing.assert_allclose(Y[:, 0], np.linspace(-1, 3, 5))
    for i, j in [(0, 0), (4, 6), (2, 3), (1, 5)]:
        x, y = X[i, j], Y[i, j]
        assert Z[i, j] == pytest.approx((1 - x) ** 2 + 100 * (y - x * x) ** 2, rel=1e-12)
    # the whole grid was one call (after a 3-point probe and its 3 single points)
    assert calls[-1] == (35, 2) and len(calls) == 5


def test_single_vector_function_is_evaluated_point_by_point():
    calls = []

    def fn(w):  # only correct for one 2-vector: w[0] on a batch is a row, not a coordinate
        calls.append(w.shape)
        return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2
    X, Y, Z = loss_surface(fn, (-2, 2), (-1, 3), steps=6)
    np.testing.assert_allclose(Z, (1 - X) ** 2 + 100 * (Y - X ** 2) ** 2, rtol=1e-12)
    assert calls.count((2,)) >= 36

    def scalar(w):  # sums over everything: a batch would give one number
        return (w ** 2).sum()
    X, Y, Z = loss_surface(scalar, (-1, 1), (0, 2), steps=4)
    np.testing.assert_allclose(Z, X ** 2 + Y ** 2)


def test_surface_accepts_numpy_results_and_rejects_bad_grids():
    X, Y, Z = loss_surface(lambda w: np.sum(w.numpy() ** 2, axis=-1), (0, 1), (0, 1), steps=3)
    np.testing.assert_allclose(Z, X ** 2 + Y ** 2)
    with pytest.raises(ValueError, match="loss_surface: xlim"):
        loss_surface(rosenbrock_batched, (1, 1), (0, 1))
    with pytest.raises(TypeError, match="loss_surface: ylim"):  # a string is the wrong kind of value
        loss_surface(rosenbrock_batched, (0, 1), "ab")
    with pytest.raises(ValueError, match="loss_surface: steps"):
        loss_surface(rosenbrock_batched, (0, 1), (0, 1), steps=1)
    with pytest.raises(TypeError, match="loss_surface: fn"):
        loss_surface(3, (0, 1), (0, 1))


# --- optimizer paths -----------------------------------------------------------------------------

def _by_hand(fn, start, make, steps):
    w = tl.Tensor(np.array(start, dtype=float), requires_grad=True, dtype=np.float64)
    opt = make([w])
    out = [w.numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        fn(w).backward()
        opt.step()
        out.append(w.numpy().copy())
    return np.array(out)


def test_optimizer_paths_equal_hand_stepped_optimizers():
    makers = {"SGD": SGD, "Momentum": functools.partial(SGD, momentum=0.9), "Adam": Adam, "RMSprop": RMSprop,
              "Adagrad": Adagrad}
    paths = optimizer_paths(rosenbrock_batched, [-1.5, 2.0], makers, steps=50, learning_rate=1e-3)
    assert list(paths) == list(makers)
    for name, make in makers.items():
        assert paths[name].shape == (51, 2)
        np.testing.assert_array_equal(paths[name][0], [-1.5, 2.0])
        expected = _by_hand(rosenbrock_batched, [-1.5, 2.0], functools.partial(make, learning_rate=1e-3), 50)
        np.testing.assert_array_equal(paths[name], expected, err_msg=name)


def test_sgd_path_on_a_quadratic_is_the_closed_form():
    # f(w) = 2 w1² + w2²/2: plain gradient descent multiplies w1 by (1 - 4 lr), w2 by (1 - lr) each step
    paths = optimizer_paths(lambda w: 2 * w[..., 0] ** 2 + 0.5 * w[..., 1] ** 2, [1.0, -2.0], {"SGD": SGD},
                            steps=20, learning_rate=0.1)
    k = np.arange(21)
    np.testing.assert_allclose(paths["SGD"], np.stack([0.6 ** k, -2.0 * 0.9 ** k], axis=1), rtol=1e-12)


def test_adam_path_matches_an_independent_numpy_adam():
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-7
    w, m, v = np.array([-1.0, 1.5]), np.zeros(2), np.zeros(2)
    expected = [w.copy()]
    for t in range(1, 31):
        g = np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2), 200 * (w[1] - w[0] ** 2)])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        expected.append(w.copy())
    paths = optimizer_paths(rosenbrock_batched, [-1.0, 1.5], {"Adam": Adam}, steps=30, learning_rate=lr)
    np.testing.assert_allclose(paths["Adam"], expected, rtol=1e-10)


def test_optimizer_paths_reject_bad_arguments():
    with pytest.raises(ValueError, match="optimizer_paths: start"):
        optimizer_paths(rosenbrock_batched, [1.0, 2.0, 3.0], {"SGD": SGD})
    with pytest.raises(ValueError, match="optimizer_paths: steps"):
        optimizer_paths(rosenbrock_batched, [1.0, 2.0], {"SGD": SGD}, steps=0)
    with pytest.raises(TypeError, match="optimizer_paths: optimizers must be"):
        optimizer_paths(rosenbrock_batched, [1.0, 2.0], [SGD])
    with pytest.raises(TypeError, match=r"optimizer_paths: optimizers\['x'\]"):
        optimizer_paths(rosenbrock_batched, [1.0, 2.0], {"x": "sgd"})
    with pytest.raises(TypeError, match="scalar Tensor"):
        optimizer_paths(lambda w: w * 2, [1.0, 2.0], {"SGD": SGD})


# --- a model's surface ---------------------------------------------------------------------------

def test_filter_normalized_directions_have_the_per_filter_norms_of_the_weights():
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=(3, 3, 2, 6))]
    d = filter_normalized_direction(weights, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(d[0], axis=0), np.linalg.norm(weights[0], axis=0))
    np.testing.assert_array_equal(d[1], np.zeros(5))  # biases do not move (Li et al.'s default)
    np.testing.assert_allclose(np.sqrt((d[2] ** 2).sum(axis=(0, 1, 2))), np.sqrt((weights[2] ** 2).sum(axis=(0, 1, 2))))
    assert not np.allclose(d[0] / np.linalg.norm(d[0], axis=0), weights[0] / np.linalg.norm(weights[0], axis=0))


def _reference_model():
    clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


X_REF = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
Y_REF = np.array([[3.0], [5.0], [7.0]])


def test_surface_over_two_named_weights_is_the_mse_of_the_linear_model():
    model = _reference_model()
    dense = model.layers[0]
    before = model.get_weights()
    b = float(dense.bias.numpy()[0])
    A, B, Z = model_loss_surface(model, X_REF, Y_REF, "mse", directions=[(dense.kernel, (0, 0)), (dense.kernel, (1, 0))],
                                 xlim=(-1, 3), ylim=(-1.5, 2.5), steps=(9, 7))
    assert Z.shape == (7, 9)
    direct = np.mean((A[..., None] * X_REF[:, 0] + B[..., None] * X_REF[:, 1] + b - Y_REF[:, 0]) ** 2, axis=-1)
    np.testing.assert_allclose(Z, direct, rtol=1e-5)
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)  # restored
    # by name and centred on the current values
    names = dict(model.named_parameters())
    kernel_name = next(n for n, p in names.items() if p is dense.kernel)
    A2, B2, _ = model_loss_surface(model, X_REF, Y_REF, "mse", directions=[(kernel_name, (0, 0)), (kernel_name, (1, 0))],
                                   span=0.5, steps=3)
    np.testing.assert_allclose(A2[0], dense.kernel.numpy()[0, 0] + np.array([-0.5, 0, 0.5]), rtol=1e-6)


def test_filter_normalized_model_surface_is_the_loss_at_the_moved_weights():
    clear_session()
    tl.manual_seed(1)
    model = Sequential([Dense(4, activation="tanh", input_shape=(2,)), Dense(1)])
    x = np.random.default_rng(0).normal(size=(8, 2))
    y = x[:, :1] * x[:, 1:]
    saved = [w.astype(float) for w in model.get_weights()]
    A, B, Z = model_loss_surface(model, x, y, "mse", span=0.8, steps=5, seed=7)
    rng = np.random.default_rng(7)
    d1, d2 = filter_normalized_direction(saved, rng), filter_normalized_direction(saved, rng)
    for i, j in [(0, 0), (2, 2), (4, 1)]:
        a, b = A[i, j], B[i, j]
        w1, b1, w2, b2 = (w + a * u + b * v for w, u, v in zip(saved, d1, d2))
        pred = np.tanh(x @ w1 + b1) @ w2 + b2
        assert Z[i, j] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-4)
    assert Z[2, 2] == pytest.approx(float(losses.MeanSquaredError()(y, model(x)).item()), rel=1e-6)  # the centre
    for w, w0 in zip(model.get_weights(), saved):
        np.testing.assert_array_equal(w, w0.astype(w.dtype))


def test_model_surface_restores_the_weights_when_the_loss_fails():
    model = _reference_model()
    before = model.get_weights()

    def broken(y_true, y_pred):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="boom"):
        model_loss_surface(model, X_REF, Y_REF, broken, steps=3)
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_model_surface_rejects_bad_arguments():
    model = _reference_model()
    dense = model.layers[0]
    with pytest.raises(ValueError, match="model_loss_surface: directions must be 'filter-normalized'"):
        model_loss_surface(model, X_REF, Y_REF, directions="random")
    with pytest.raises(ValueError, match="exactly two weights"):
        model_loss_surface(model, X_REF, Y_REF, directions=[(dense.kernel, (0, 0))])
    with pytest.raises(ValueError, match="no parameter 'kernel9'"):
        model_loss_surface(model, X_REF, Y_REF, directions=[("kernel9", 0), (dense.kernel, (1, 0))])
    with pytest.raises(ValueError, match=r"index \(5, 0\)"):
        model_loss_surface(model, X_REF, Y_REF, directions=[(dense.kernel, (5, 0)), (dense.kernel, (1, 0))])
    with pytest.raises(ValueError, match="not a parameter of the model"):
        model_loss_surface(model, X_REF, Y_REF, directions=[(tl.Tensor([1.0], requires_grad=True), 0),
                                                            (dense.kernel, (1, 0))])
    with pytest.raises(ValueError, match="model_loss_surface: span"):
        model_loss_surface(model, X_REF, Y_REF, span=-1)


# --- WeightHistory -------------------------------------------------------------------------------

def test_weight_history_records_the_path_of_fit():
    model = _reference_model()
    dense = model.layers[0]
    recorder = tl.WeightHistory([(dense.kernel, (0, 0)), (dense.kernel, (1, 0)), (dense.bias, (0,))])
    start = np.r_[dense.kernel.numpy().ravel(), dense.bias.numpy()].astype(float)
    model.fit(X_REF, Y_REF, epochs=5, verbose=0, callbacks=[recorder])
    path = recorder.path
    assert path.shape == (6, 3)
    np.testing.assert_array_equal(path[0], start)
    np.testing.assert_array_equal(path[-1], np.r_[dense.kernel.numpy().ravel(), dense.bias.numpy()])
    # one epoch of the reference program is one full-batch SGD step on the MSE: check every row
    Xb = np.hstack([X_REF, np.ones((3, 1))])
    w = start.copy()
    for k in range(1, 6):
        w = w - 0.01 * 2 / 3 * Xb.T @ (Xb @ w - Y_REF[:, 0])
        np.testing.assert_allclose(path[k], w, rtol=1e-5)
    everything = tl.WeightHistory()
    model.fit(X_REF, Y_REF, epochs=2, verbose=0, callbacks=[everything])
    assert everything.path.shape == (3, 3)
    with pytest.raises(ValueError, match="WeightHistory: weights must be"):
        tl.WeightHistory([dense.kernel])


def test_model_surface_is_evaluated_in_inference_mode():
    clear_session()
    tl.manual_seed(0)
    model = Sequential([Dense(8, activation="relu", input_shape=(2,)), tl.Dropout(0.5), Dense(1)])
    x = np.random.default_rng(0).normal(size=(16, 2))
    y = x.sum(axis=1, keepdims=True)
    _, _, Z1 = model_loss_surface(model, x, y, "mse", steps=3, seed=2)
    _, _, Z2 = model_loss_surface(model, x, y, "mse", steps=3, seed=2)
    np.testing.assert_array_equal(Z1, Z2)  # dropout would make every evaluation different
    expected = float(losses.MeanSquaredError()(y, model(x, training=False)).item())
    assert Z1[1, 1] == pytest.approx(expected, rel=1e-6)
