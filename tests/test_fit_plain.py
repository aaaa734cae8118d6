"""fit's plain epochs (training.py's _plain_epochs): one batch, verbose=0, no validation, metrics or
per-epoch callback. They must record the same History, weights, stops and modes as the general epoch
loop (_fit_epoch), which a callback overriding on_epoch_begin forces."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import callbacks, optim
from tinygrad_loss.nn import Dense, Module, Sequential
from test_fit_step import ModeSpy  # the identity layer that records its mode at every training call

X = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
Y = np.array([3.0, 5.0, 7.0])
K0, B0 = np.array([[0.5], [-0.25]]), np.array([0.1])


class EpochBegin(callbacks.Callback):
    """Does nothing, but overriding on_epoch_begin sends fit through its general epoch loop."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def _model(lr=0.01, dtype="float64"):
    tl.nn.clear_session()
    m = Sequential([Dense(1, input_shape=(2,), dtype=dtype)])
    m.set_weights([K0, B0])
    m.compile(optimizer=optim.SGD(learning_rate=lr), loss="mse")
    return m


def _both(lr=0.01, dtype="float64", **kw):
    """(history, weights) of the plain loop and of the general loop on the same problem."""
    out = []
    for cbs in ([], [EpochBegin()]):
        m = _model(lr, dtype)
        h = m.fit(X, Y, verbose=0, callbacks=cbs, **kw)
        out.append((h, m.get_weights()))
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("initial_epoch", [0, 3])
def test_plain_epochs_record_what_the_general_loop_records(dtype, initial_epoch):
    (h, w), (h_ref, w_ref) = _both(dtype=dtype, epochs=7, initial_epoch=initial_epoch)
    assert h.epoch == h_ref.epoch == list(range(initial_epoch, 7))
    assert h.history == h_ref.history and list(h.history) == ["loss"]
    assert all(type(v) is float for v in h.history["loss"])
    for a, b in zip(w, w_ref):
        np.testing.assert_array_equal(a, b)
    r = X @ K0 + B0 - Y[:, None]
    assert h.history["loss"][0] == pytest.approx(float(np.mean(r ** 2)), rel=1e-6)  # before the first update


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow that makes the loss non-finite
def test_a_diverging_loss_stops_the_plain_loop_where_the_general_loop_stops(capsys):
    (h, w), (h_ref, w_ref) = _both(lr=10.0, epochs=400)
    assert h.stop_reason is not None and "the loss (" in h.stop_reason and "batch 1 of 1" in h.stop_reason
    assert h.stop_reason == h_ref.stop_reason
    assert h.epoch == h_ref.epoch and 0 < len(h.epoch) < 400 and h.history == h_ref.history
    for a, b in zip(w, w_ref):
        np.testing.assert_array_equal(a, b)
        assert np.isfinite(a).all()  # the non-finite update was not applied
    assert capsys.readouterr().err.count("non-finite") == 2


def test_a_stop_asked_before_the_first_epoch_ends_the_plain_loop_after_it():
    class StopAtBegin(callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model.stop_training = True

    m = _model()
    h = m.fit(X, Y, epochs=5, verbose=0, callbacks=[StopAtBegin()])
    m_ref = _model()
    h_ref = m_ref.fit(X, Y, epochs=5, verbose=0, callbacks=[StopAtBegin(), EpochBegin()])
    assert h.epoch == h_ref.epoch == [0] and h.history == h_ref.history


class EvalAtBegin(callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.model.eval()


@pytest.mark.parametrize("when", ["before fit", "on_train_begin"])
def test_every_plain_epoch_runs_in_training_mode(when):
    tl.nn.clear_session()
    spy = ModeSpy()
    model = Sequential([Dense(1, input_shape=(2,), dtype="float64"), spy])
    model.compile(optimizer="sgd", loss="mse")
    if when == "before fit":
        spy.eval()  # one layer only: the model's own flag stays True
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[EvalAtBegin()] if when == "on_train_begin" else [])
    assert spy.modes == [True] * 3 and spy.training and model.training


def test_inference_mode_and_gradients_come_back_after_predict_fails():
    class Fails(Module):
        def forward(self, x):
            assert not self.training and not tl.is_grad_enabled()
            if x.shape[0] > 1:
                raise RuntimeError("boom")
            return x

    tl.nn.clear_session()
    model = Sequential([Dense(1, input_shape=(2,)), Fails()])
    with pytest.raises(RuntimeError, match="boom"):
        model.predict(X)
    assert model.training and model.layers[1].training and tl.is_grad_enabled()
    model.eval()
    with pytest.raises(RuntimeError, match="boom"):
        model.predict(X)
    assert not model.training and tl.is_grad_enabled()


class InfFrom(Module):
    """Identity until its ``n``-th training call, then the output times inf."""

    def __init__(self, n):
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, x):
        if tl.is_grad_enabled():
            self.calls += 1
            if self.calls >= self.n:
                return x * np.inf
        return x


@pytest.mark.parametrize("loss", ["mse", tl.losses.MeanAbsoluteError(), tl.losses.mean_squared_error],
                         ids=["name", "Loss", "function"])
@pytest.mark.parametrize("epoch_begin", [False, True], ids=["plain", "general"])
def test_a_non_finite_output_stops_fit_before_a_built_in_loss_refuses_it(capsys, loss, epoch_begin):
    tl.nn.clear_session()
    model = Sequential([Dense(1, input_shape=(2,), dtype="float64"), InfFrom(3)])
    model.set_weights([K0, B0])
    model.compile(optimizer=optim.SGD(learning_rate=0.01), loss=loss)
    h = model.fit(X, Y, epochs=5, verbose=0, callbacks=[EpochBegin()] if epoch_begin else [])
    assert h.stop_reason.startswith("fit: the model's output became non-finite at epoch 3, batch 1 of 1")
    assert h.epoch == [0, 1] and "non-finite" in capsys.readouterr().err
    ref = _model()
    ref.compile(optimizer=optim.SGD(learning_rate=0.01), loss=loss)
    ref.fit(X, Y, epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)  # the third update was not applied


def test_a_built_in_loss_refusing_a_finite_output_still_raises_from_fit():
    tl.nn.clear_session()
    model = Sequential([Dense(1, input_shape=(2,), dtype="float64")])
    model.set_weights([np.array([[0.1], [0.1]]), np.array([0.0])])  # outputs in [0, 1] at first
    model.compile(optimizer=optim.SGD(learning_rate=100.0), loss=tl.losses.BinaryCrossentropy())
    with pytest.raises(ValueError, match=r"BinaryCrossentropy: y_pred must be in \[0.0, 1.0\], got 638"):
        model.fit(X, np.array([1.0, 0.0, 1.0]), epochs=5, verbose=0)


class DtypeSpy(tl.nn.Model):
    """x @ w with a float64 w, recording the dtype of every input it is given."""

    def __init__(self):
        super().__init__()
        self.w = tl.Tensor(np.array([[0.5], [-0.25]]), requires_grad=True)
        self.seen = []

    def forward(self, x):
        self.seen.append(x.dtype)
        return x @ self.w


def test_predict_and_evaluate_cast_every_batch_to_the_parameters_dtype():
    tl.nn.clear_session()
    model = DtypeSpy()
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[0.1, 0.2], [0.3, 0.7], [1e-9, 3.0]], dtype=np.float32)
    pred = model.predict(x, batch_size=1)
    model.evaluate(x, np.zeros(3), batch_size=1, verbose=0)
    assert model.seen == [np.float64] * 8  # predict's probe and 3 batches, then evaluate's
    np.testing.assert_array_equal(pred, x.astype(np.float64) @ np.array([[0.5], [-0.25]]))
