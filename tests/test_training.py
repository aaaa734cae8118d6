"""compile / fit / evaluate / predict: Keras semantics checked against NumPy computations."""
import io
import math
import os

import numpy as np
import pytest

import tinygrad_loss as tf  # the reference program's spelling
import tinygrad_loss as tl
from tinygrad_loss import callbacks, losses, optim
from tinygrad_loss.nn import Dense, Dropout, Sequential
from tinygrad_loss.training import ProgressBar

X_TRAIN = [[1, 2], [2, 3], [3, 4]]
Y_TRAIN = [3, 5, 7]
K0 = np.array([[0.4], [-0.3]])
B0 = np.array([0.1])


@pytest.fixture(autouse=True)
def _fresh_names():
    tl.nn.clear_session()


def linear_model(dtype="float64"):
    model = Sequential([Dense(1, input_shape=(2,), dtype=dtype)])
    model.set_weights([K0, B0])
    return model


def numpy_sgd_history(x, y, k, b, epochs, lr=0.01, batch_size=None):
    """Keras's rule by hand: per batch, loss = mean((xk + b - y)²) before the update, then
    k -= lr ∂loss/∂k, b -= lr ∂loss/∂b; an epoch reports the batch losses averaged with
    batch-size weights."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
    k, b = k.copy(), b.copy()
    n = len(x)
    bs = batch_size or n
    hist = []
    for _ in range(epochs):
        total = 0.0
        for s in range(0, n, bs):
            xb, yb = x[s:s + bs], y[s:s + bs]
            r = xb @ k + b - yb
            total += np.mean(r ** 2) * len(xb)
            gk = 2.0 * xb.T @ r / len(xb)
            gb = 2.0 * r.sum(0) / len(xb)
            k, b = k - lr * gk, b - lr * gb
        hist.append(total / n)
    return hist, k, b


# --- the reference program -------------------------------------------------------------------------

def test_reference_program_runs_unmodified(capsys):
    x_train = [[1, 2], [2, 3], [3, 4]]
    y_train = [3, 5, 7]
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    mse_loss = tf.keras.losses.MeanSquaredError()
    model.compile(optimizer='sgd', loss=mse_loss)
    history = model.fit(x_train, y_train, epochs=100)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 100 and "Epoch 100/100" in out and "loss: " in out
    loss = history.history["loss"]
    assert len(loss) == 100 and loss[-1] < 0.01 * loss[0]
    assert model.layers[0].kernel.dtype == np.float32


def test_fit_history_equals_numpy_keras_rule_full_batch():
    model = linear_model()
    model.compile(optimizer="sgd", loss=losses.MeanSquaredError())
    h = model.fit(X_TRAIN, Y_TRAIN, epochs=100, verbose=0)
    ref, k, b = numpy_sgd_history(X_TRAIN, Y_TRAIN, K0, B0, 100)
    np.testing.assert_allclose(h.history["loss"], ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.layers[0].kernel.data, k, atol=1e-9)
    np.testing.assert_allclose(model.layers[0].bias.data, b, atol=1e-9)


@pytest.mark.parametrize("batch_size", [1, 2, 4, 5])
def test_epoch_loss_is_batch_size_weighted_mean_of_batch_losses(batch_size):
    x = np.array(X_TRAIN + [[0, 1], [4, 1], [2, 2]], dtype=np.float64)
    y = np.array(Y_TRAIN + [1, 5, 4], dtype=np.float64)
    model = linear_model()
    model.compile(optimizer=optim.SGD(learning_rate=0.01), loss="mse")
    h = model.fit(x, y, epochs=5, batch_size=batch_size, shuffle=False, verbose=0)
    ref, _, _ = numpy_sgd_history(x, y, K0, B0, 5, batch_size=batch_size)
    np.testing.assert_allclose(h.history["loss"], ref, rtol=0, atol=1e-9)


def test_explicit_loop_equals_fit():
    fitted = linear_model()
    fitted.compile(optimizer="sgd", loss="mse")
    fitted.fit(X_TRAIN, Y_TRAIN, epochs=20, verbose=0)
    tl.nn.clear_session()
    model = linear_model()
    opt = optim.SGD(model.parameters())
    loss_fn = losses.MeanSquaredError()
    x, y = tl.Tensor(X_TRAIN, dtype="float64"), tl.Tensor(Y_TRAIN, dtype="float64")
    for _ in range(20):
        opt.zero_grad()
        loss_fn(y, model(x)).backward()
        opt.step()
    for a, b in zip(fitted.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_same_seed_same_history_with_shuffling():
    def run(seed):
        tl.manual_seed(seed)
        tl.nn.clear_session()
        x = tl.get_generator().normal(size=(50, 3))
        y = x @ np.array([1.0, -2.0, 0.5]) + 0.3
        model = Sequential([Dense(4, activation="tanh", input_shape=(3,)), Dropout(0.1), Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model.fit(x, y, epochs=5, batch_size=8, verbose=0).history["loss"]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_resume_from_saved_weights_and_optimizer_state(tmp_path):
    tl.manual_seed(11)
    x = tl.get_generator().normal(size=(40, 2))
    y = x @ np.array([2.0, -1.0]) + 0.5

    def fresh():
        tl.nn.clear_session()
        m = Sequential([Dense(3, activation="relu", input_shape=(2,)), Dense(1)])
        m.compile(optimizer=optim.Adam(learning_rate=0.02), loss="mse")
        return m

    tl.manual_seed(5)
    straight = fresh().fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]

    tl.manual_seed(5)
    m1 = fresh()
    first = m1.fit(x, y, epochs=4, batch_size=16, verbose=0).history["loss"]
    m1.save_weights(tmp_path / "ckpt.npz")
    opt_state = m1.optimizer.state_dict()
    rng_state = tl.get_generator().bit_generator.state

    tl.manual_seed(99)  # anything in between must not matter
    m2 = fresh()
    m2.load_weights(tmp_path / "ckpt.npz")
    m2.optimizer.add_params(m2.parameters())
    m2.optimizer.load_state_dict(opt_state)
    tl.get_generator().bit_generator.state = rng_state
    second = m2.fit(x, y, epochs=4, batch_size=16, verbose=0).history["loss"]
    assert first + second == straight


# --- metrics ----------------------------------------------------------------------------------------

def test_regression_metrics_match_numpy():
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    k, b = K0.copy(), B0.copy()
    h = model.fit(X_TRAIN, Y_TRAIN, epochs=3, verbose=0)
    x, y = np.array(X_TRAIN, float), np.array(Y_TRAIN, float)[:, None]
    maes = []
    for _ in range(3):
        r = x @ k + b - y
        maes.append(np.mean(np.abs(r)))
        k, b = k - 0.01 * 2 * x.T @ r / 3, b - 0.01 * 2 * r.sum(0) / 3
    np.testing.assert_allclose(h.history["mae"], maes, atol=1e-9)
    np.testing.assert_allclose(h.history["mse"], h.history["loss"], atol=1e-9)


def test_accuracy_resolution_like_keras():
    logits = np.array([[2.0, 0.1, -1.0], [0.0, 3.0, 0.2], [0.5, 0.4, 0.3], [-1.0, 0.0, 1.0]])
    labels = np.array([0, 1, 2, 2])  # the third is wrong: 3/4
    model = Sequential([Dense(3, input_shape=(3,), kernel_initializer="zeros", bias_initializer="zeros")])
    model.set_weights([np.eye(3, dtype=np.float32), np.zeros(3, np.float32)])
    model.compile(optimizer=optim.SGD(learning_rate=0.0), loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    assert model.evaluate(logits, labels, verbose=0, return_dict=True)["accuracy"] == 0.75
    onehot = np.eye(3)[labels]
    model.compile(optimizer=optim.SGD(learning_rate=0.0), loss=losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", "categorical_accuracy"])
    logs = model.evaluate(logits, onehot, verbose=0, return_dict=True)
    assert logs["accuracy"] == 0.75 and logs["categorical_accuracy"] == 0.75
    # binary: one output, threshold 0.5
    tl.nn.clear_session()
    binm = Sequential([Dense(1, input_shape=(1,), activation="sigmoid")])
    binm.set_weights([np.array([[1.0]], np.float32), np.zeros(1, np.float32)])
    binm.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "binary_accuracy"])
    logs = binm.evaluate(np.array([[2.0], [-2.0], [0.5], [-0.1]]), np.array([1, 0, 0, 0]), verbose=0,
                         return_dict=True)
    assert logs["accuracy"] == 0.75 and logs["binary_accuracy"] == 0.75


def test_metric_objects_are_not_shared_between_training_and_validation():
    model = linear_model()
    mae = tl.metrics.MeanAbsoluteError(name="mae")
    model.compile(optimizer=optim.SGD(learning_rate=0.0), loss="mse", metrics=[mae])
    xv, yv = np.array([[0.0, 0.0]]), np.array([10.0])
    h = model.fit(X_TRAIN, Y_TRAIN, epochs=2, validation_data=(xv, yv), verbose=0)
    pred = np.array(X_TRAIN, float) @ K0 + B0
    expected = np.mean(np.abs(pred[:, 0] - Y_TRAIN))
    np.testing.assert_allclose(h.history["mae"], [expected, expected], atol=1e-12)  # lr 0: weights fixed
    np.testing.assert_allclose(h.history["val_mae"], [abs(0.1 - 10.0)] * 2, atol=1e-12)


def test_sparse_categorical_accuracy_metric_function():
    m = tl.metrics.get("sparse_categorical_accuracy")
    m.update_state(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]))
    m.update_state(np.array([[0]]), np.array([[0.7, 0.3]]))
    assert m.result() == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        tl.metrics.get("acuracy")


# --- validation, evaluate, predict -------------------------------------------------------------------

def test_validation_split_uses_the_last_samples():
    x = np.arange(20, dtype=np.float64).reshape(10, 2) / 10
    y = x.sum(1)
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse")
    h = model.fit(x, y, epochs=3, validation_split=0.2, verbose=0, shuffle=False)
    ref, k, b = numpy_sgd_history(x[:8], y[:8], K0, B0, 3)
    np.testing.assert_allclose(h.history["loss"], ref, atol=1e-9)
    val_after = np.mean((x[8:] @ k + b - y[8:, None]) ** 2)
    assert h.history["val_loss"][-1] == pytest.approx(val_after, abs=1e-9)
    assert model.evaluate(x[8:], y[8:], verbose=0) == pytest.approx(val_after, abs=1e-9)


def test_validation_data_and_evaluate_predict():
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    xv, yv = np.array([[0.0, 1.0], [5.0, 1.0]]), np.array([2.0, 3.0])
    h = model.fit(X_TRAIN, Y_TRAIN, epochs=2, validation_data=(xv, yv), verbose=0)
    assert set(h.history) == {"loss", "mae", "val_loss", "val_mae"}
    pred = model.predict(xv, batch_size=1)
    assert pred.shape == (2, 1) and isinstance(pred, np.ndarray)
    np.testing.assert_allclose(pred, xv @ model.layers[0].kernel.data + model.layers[0].bias.data)
    loss, mae = model.evaluate(xv, yv, verbose=0)
    assert loss == pytest.approx(np.mean((pred[:, 0] - yv) ** 2)) and mae == pytest.approx(np.mean(np.abs(pred[:, 0] - yv)))
    assert h.history["val_loss"][-1] == pytest.approx(loss)


def test_predict_and_evaluate_are_in_inference_mode():
    model = Sequential([Dense(8, input_shape=(4,)), Dropout(0.5), Dense(1)])
    x = np.ones((16, 4))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert model.training  # mode restored afterwards


def test_lazy_model_is_built_by_fit():
    model = Sequential([Dense(4, activation="relu"), Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    h = model.fit(np.ones((6, 3)), np.ones(6), epochs=2, verbose=0)
    assert model.layers[0].kernel.shape == (3, 4) and len(h.history["loss"]) == 2


# --- callbacks ---------------------------------------------------------------------------------------

def test_early_stopping_patience_and_restore_best_weights():
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse")
    # validation targets the model drifts away from: val_loss rises after the first epochs
    xv, yv = np.array([[1.0, 2.0]]), np.array([-5.0])
    seen = []
    es = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    rec = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, model.get_weights())))
    h = model.fit(X_TRAIN, Y_TRAIN, epochs=50, validation_data=(xv, yv), callbacks=[rec, es], verbose=0)
    val = h.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 3  # stopped after `patience` epochs without improvement
    assert es.stopped_epoch == best + 2
    for a, b in zip(model.get_weights(), seen[best][1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_nan_loss_stops_with_message_naming_epoch_and_batch(capsys):
    model = linear_model()
    model.compile(optimizer=optim.SGD(learning_rate=10.0), loss="mse")
    h = model.fit(np.array(X_TRAIN * 4), np.array(Y_TRAIN * 4), epochs=100, batch_size=4, shuffle=False, verbose=0)
    err = capsys.readouterr().err
    assert h.stop_reason is not None and "non-finite" in h.stop_reason
    assert h.stop_reason in err
    import re
    m = re.search(r"epoch (\d+), batch (\d+) of 3", err)
    assert m, err
    assert len(h.history["loss"]) in (int(m.group(1)), int(m.group(1)) - 1)
    assert len(h.history["loss"]) < 100
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())  # the bad update was not applied


def test_terminate_on_nan_watches_metrics_and_validation():
    def odd(y_true, y_pred):  # a metric that goes bad
        return np.full(len(y_pred), np.nan)

    model = linear_model()
    model.compile(optimizer="sgd", loss="mse", metrics=[odd])
    term = callbacks.TerminateOnNaN()
    h = model.fit(X_TRAIN, Y_TRAIN, epochs=10, validation_data=(np.array([[1.0, 2.0]]), np.array([1.0])),
                  callbacks=[term], verbose=0)
    assert len(h.history["loss"]) == 1 and "odd is nan" in term.message and "epoch 1" in term.message
    assert math.isnan(h.history["val_odd"][0])


def test_model_checkpoint_atomic_and_best_only(tmp_path):
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse")
    every = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}.npz"))
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.npz"), monitor="loss", save_best_only=True)
    model.fit(X_TRAIN, Y_TRAIN, epochs=3, callbacks=[every, best], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["best.npz", "e01.npz", "e02.npz", "e03.npz"]
    assert len(best.saved) == 3  # the training loss improved every epoch
    clone = linear_model()
    clone.load_weights(tmp_path / "best.npz")
    for a, b in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=".npz"):
        callbacks.ModelCheckpoint("weights.h5")


def test_lambda_callback_sees_every_batch_and_epoch():
    events = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                                  on_train_batch_end=lambda batch, logs: events.append(("batch", batch)),
                                  on_epoch_end=lambda epoch, logs: events.append(("epoch", epoch, sorted(logs))),
                                  on_train_end=lambda logs: events.append("end"))
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X_TRAIN, Y_TRAIN, epochs=2, batch_size=2, verbose=0, callbacks=[cb])
    assert events == ["begin", ("batch", 0), ("batch", 1), ("epoch", 0, ["loss"]), ("batch", 0), ("batch", 1),
                      ("epoch", 1, ["loss"]), "end"]


# --- bad input: clear errors before any training -------------------------------------------------------

def _untouched(model, before):
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_fit_before_compile():
    model = linear_model()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(X_TRAIN, Y_TRAIN)


@pytest.mark.parametrize("x,y,match", [
    ([[1, 2], [2, 3]], [3, 5, 7], "same number of samples.*\\(2 samples\\).*\\(3 samples\\)"),
    ([[1, 2, 3], [2, 3, 4]], [3, 5], "expects inputs of shape \\(batch, 2\\).*\\(2, 3\\)"),
    ([], [], "empty"),
    ([["a", "b"]], [1], "numeric"),
])
def test_bad_data_raises_before_training(x, y, match):
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    with pytest.raises((ValueError, TypeError), match=match):
        model.fit(x, y, epochs=3, verbose=0)
    assert _untouched(model, before) and model.optimizer.iterations == 0


def test_subclassed_model_shape_errors_before_training(capsys):
    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = tf.keras.layers.Dense(4, activation="relu")
            self.out = tf.keras.layers.Dense(3)

        def call(self, x):
            return self.out(self.hidden(x))

    model = Net()
    model.compile(optimizer="adam", loss=losses.CategoricalCrossentropy(from_logits=True))
    x = np.ones((10, 5))
    model.fit(x, np.eye(3)[np.arange(10) % 3], epochs=1, verbose=0)  # builds on 5 features
    before = model.get_weights()
    capsys.readouterr()
    with pytest.raises(ValueError, match="fit: x of shape \\(10, 2\\) does not fit the model: dense.*5 features"):
        model.fit(np.ones((10, 2)), np.eye(3)[np.arange(10) % 3])
    with pytest.raises(ValueError, match="fit: y of shape \\(10, 4\\) does not fit the model's output of shape "
                                         "\\(batch, 3\\)"):
        model.fit(x, np.eye(4)[np.arange(10) % 4])
    with pytest.raises(ValueError, match="x contains a non-finite value \\(nan at index \\(2, 1\\)\\)"):
        bad = x.copy()
        bad[2, 1] = np.nan
        model.fit(bad, np.eye(3)[np.arange(10) % 3])
    assert capsys.readouterr().out == ""  # not even "Epoch 1/1" was printed
    assert _untouched(model, before) and model.optimizer.iterations == 1


def test_unknown_names_and_bad_arguments():
    model = linear_model()
    with pytest.raises(ValueError, match="unknown optimizer 'sdg'"):
        model.compile(optimizer="sdg", loss="mse")
    with pytest.raises(ValueError, match="unknown loss 'mse2'"):
        model.compile(optimizer="sgd", loss="mse2")
    with pytest.raises(ValueError, match="loss is required"):
        model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="unknown metric"):
        model.compile(optimizer="sgd", loss="mse", metrics=["maee"])
    model.compile(optimizer="sgd", loss="mse")
    for kw, match in [({"epochs": 0}, "epochs"), ({"batch_size": -1}, "batch_size"),
                      ({"validation_split": 1.0}, "validation_split"), ({"verbose": 3}, "verbose"),
                      ({"validation_data": ([[1, 2]],)}, "validation_data")]:
        with pytest.raises(ValueError, match=match):
            model.fit(X_TRAIN, Y_TRAIN, **kw)
    with pytest.raises(ValueError, match="expects inputs"):
        model.predict([[1, 2, 3]])
    before = model.get_weights()
    for kw, err, match in [({"initial_epoch": -1}, ValueError, "fit: initial_epoch must be a non-negative int"),
                           ({"shuffle": "no"}, TypeError, "fit: shuffle must be True or False"),
                           ({"callbacks": callbacks.EarlyStopping()}, TypeError,
                            "fit: callbacks must be a list of Callback instances, got EarlyStopping")]:
        with pytest.raises(err, match=match):
            model.fit(X_TRAIN, Y_TRAIN, verbose=0, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing trained
    with pytest.raises(ValueError, match="evaluate: verbose must be 0, 1 or 2, got 5"):
        model.evaluate(X_TRAIN, Y_TRAIN, verbose=5)
    with pytest.raises(ValueError, match="predict: verbose must be 0, 1 or 2, got 5"):
        model.predict(X_TRAIN, verbose=5)
    for cls in (callbacks.EarlyStopping, callbacks.ModelCheckpoint):
        args = ("w.npz",) if cls is callbacks.ModelCheckpoint else ()
        with pytest.raises(ValueError, match=f"{cls.__name__}: mode must be"):
            cls(*args, mode="up")


def test_loss_must_return_a_scalar_tensor():
    model = linear_model()
    model.compile(optimizer="sgd", loss=losses.MeanSquaredError(reduction="none"))
    with pytest.raises(TypeError, match="scalar Tensor, got a Tensor of shape \\(1,\\) \\(a Loss with reduction='none'"):
        model.fit(X_TRAIN, Y_TRAIN, verbose=0)
    model.compile(optimizer="sgd", loss=lambda yt, yp: 0.0)
    with pytest.raises(TypeError, match="must return a Tensor, got float"):
        model.fit(X_TRAIN, Y_TRAIN, verbose=0)


def test_compile_wraps_a_per_sample_callable_like_keras():
    """compile(loss=fn) wraps fn in LossFunctionWrapper (Keras): per-sample values are averaged,
    so batches of any size train; the history equals a NumPy SGD on mean((w·x + b - y)^4)."""
    x = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0], [0.5, -1.0], [-2.0, 1.0]])
    y = np.array([[0.5], [1.0], [1.5], [-0.5], [0.25]])
    w0, b0 = np.array([[0.1], [-0.2]]), np.array([0.05])

    def quartic(y_true, y_pred):  # per-sample values, shape (batch,)
        return ((y_true - y_pred) ** 4).mean(axis=-1)

    for fn in (quartic, losses.mean_squared_error):
        model = Sequential([Dense(1, input_shape=(2,), dtype="float64")])
        model.set_weights([w0.copy(), b0.copy()])
        model.compile(optimizer=optim.SGD(learning_rate=0.01), loss=fn)
        assert isinstance(model.loss, losses.LossFunctionWrapper)
        hist = model.fit(x, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history["loss"]
        p = 4 if fn is quartic else 2
        w, b, expect = w0.copy(), b0.copy(), []
        for _ in range(3):
            total = 0.0
            for s in range(0, 5, 2):
                xb, yb = x[s:s + 2], y[s:s + 2]
                r = xb @ w + b - yb
                total += np.mean(r ** p) * len(xb)
                g = p * r ** (p - 1) / len(xb)  # d mean(r^p) / d pred
                w, b = w - 0.01 * xb.T @ g, b - 0.01 * g.sum(axis=0)
            expect.append(total / 5)
        np.testing.assert_allclose(hist, expect, rtol=1e-9)


def test_keras_namespace_reexports_the_project_classes():
    assert tf.keras.Sequential is tl.nn.Sequential and tf.keras.Model is tl.nn.Model
    assert tf.keras.layers.Dense is tl.nn.Dense and tf.keras.layers.Dropout is tl.nn.Dropout
    assert tf.keras.losses.MeanSquaredError is tl.losses.MeanSquaredError
    assert tf.keras.losses.CategoricalCrossentropy is tl.losses.CategoricalCrossentropy
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        assert getattr(tf.keras.optimizers, name) is getattr(tl.optim, name)
    assert tf.keras.optimizers.schedules.ExponentialDecay is tl.optim.ExponentialDecay
    assert tf.keras.callbacks.EarlyStopping is tl.callbacks.EarlyStopping
    assert tf.keras.metrics.SparseCategoricalAccuracy is tl.metrics.SparseCategoricalAccuracy
    assert tf.keras.initializers.GlorotUniform is tl.nn.initializers.GlorotUniform
    assert tf.keras.activations.gelu is tl.nn.activations.gelu


# --- progress output -------------------------------------------------------------------------------------

def test_verbose_levels(capsys):
    model = linear_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X_TRAIN, Y_TRAIN, epochs=3, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(X_TRAIN, Y_TRAIN, epochs=3, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and lines[0] == "Epoch 1/3" and lines[1].startswith("1/1 - ") and " - loss: " in lines[1]
    model.fit(X_TRAIN, Y_TRAIN, epochs=3, batch_size=1, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and lines[1].startswith("3/3 [==============================] - ")


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_one_line_on_a_terminal():
    out = FakeTTY()
    bar = ProgressBar(4, verbose=1, interval=0.0, stream=out)
    for i in range(1, 5):
        bar.update(i, {"loss": 1.0 / i}, finished=i == 4)
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and text.count("\r") == 4
    assert "1/4 [======>.......................]" in text and "ETA" in text
    assert text.rstrip("\n").split("\r")[-1].startswith("4/4 [==============================] - ")
    assert "loss: 0.2500" in text
    quiet = FakeTTY()
    slow = ProgressBar(1000, verbose=1, interval=3600.0, stream=quiet)
    for i in range(1, 1001):
        slow.update(i, {"loss": 1.0}, finished=i == 1000)
    assert quiet.getvalue().count("\r") <= 2  # throttled: no flood


def test_train_step_is_the_explicit_loop():
    """model.train_step(x, y) is zero_grad, loss, backward, step: same weights as the loop by hand."""
    a, b = linear_model(), linear_model()
    a.compile(optimizer=optim.SGD(learning_rate=0.05), loss="mse")
    opt = optim.SGD(b.parameters(), learning_rate=0.05)
    x, y = tl.Tensor(X_TRAIN, dtype="float64"), np.array(Y_TRAIN, dtype=np.float64)
    a.optimizer.add_params(a.parameters())
    for _ in range(3):
        value, pred = a.train_step(x, y)
        opt.zero_grad()
        loss = losses.MeanSquaredError()(y, b(x))
        loss.backward()
        opt.step()
        assert value == pytest.approx(float(loss.item()), abs=1e-12) and pred.shape == (3, 1)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=1e-12)


def test_callback_list_hands_every_hook_its_logs():
    seen = []

    class Spy(callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(("train_begin", logs))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch_end", epoch, sorted(logs)))

    cbs = callbacks.CallbackList([Spy(), Spy()])
    cbs.on_train_begin()
    cbs.on_epoch_end(4, {"loss": 1.0})
    assert seen == [("train_begin", None)] * 2 + [("epoch_end", 4, ["loss"])] * 2
