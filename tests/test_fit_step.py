"""What fit does at each step and epoch besides the explicit loop (training.py's _train_batches/_step):
training mode set again only after some module's mode was assigned, only the parameters' gradients
kept, a subclass's train_step honoured, a non-finite output caught even when the loss stays finite."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import callbacks, optim
from tinygrad_loss.nn import Dense, Model, Module, Sequential

X = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
Y = np.array([[3.0], [5.0], [7.0]])


class ModeSpy(Module):
    """Identity layer that records its mode at every call that records a graph (the training steps)."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, x):
        if tl.is_grad_enabled():
            self.modes.append(self.training)
        return x


def _spy_model():
    tl.nn.clear_session()
    spy = ModeSpy()
    return Sequential([Dense(1, input_shape=(2,), dtype="float64"), spy]), spy


@pytest.mark.parametrize("who", ["layer", "model", "direct"])
def test_every_step_runs_in_training_mode_even_after_a_callback_switched_a_module(who):
    model, spy = _spy_model()

    class Switch(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if who == "layer":
                spy.eval()  # one sub-module only: the model's own flag stays True
            elif who == "model":
                self.model.eval()
            else:
                spy.training = False  # assigned without train()/eval()

    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=4, verbose=0, callbacks=[Switch()])
    assert spy.modes == [True] * 4


def test_fit_restores_the_mode_the_model_had():
    model, spy = _spy_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=2, verbose=0)
    assert model.training and spy.training
    model.eval()
    model.fit(X, Y, epochs=2, verbose=0)
    assert spy.modes == [True] * 4
    assert not model.training and not spy.training


class Kept(Model):
    """One Dense layer; keeps its last output so a test can look at its .grad."""

    def __init__(self):
        super().__init__()
        self.dense = Dense(1, input_shape=(2,), dtype="float64")
        self.last = None
        self.steps = 0

    def forward(self, x):
        self.last = self.dense(x)
        return self.last


def test_fit_keeps_the_parameters_gradients_only():
    tl.nn.clear_session()
    model = Kept()
    seen = []

    class Recording(optim.SGD):  # what the step sees (fit clears the parameters' .grad when it ends)
        def step(self):
            seen.append((model.dense.kernel.grad.data.copy(), model.dense.bias.grad.data.copy(), model.last.grad))
            super().step()

    model.compile(optimizer=Recording(learning_rate=0.0), loss="mse")  # lr 0: the weights stay put
    k, b = (w.copy() for w in model.get_weights())
    model.fit(X, Y, epochs=1, verbose=0)
    r = X @ k + b - Y
    (gk, gb, g_last), = seen
    np.testing.assert_allclose(gk, 2.0 * X.T @ r / len(X), rtol=1e-12)
    np.testing.assert_allclose(gb, 2.0 * r.sum(0) / len(X), rtol=1e-12)
    assert g_last is None  # fit's graph is never handed out: its intermediates keep no .grad
    model.train_step(tl.Tensor(X), tl.Tensor(Y))  # called by hand, the step is backward() as written
    np.testing.assert_allclose(model.last.grad.data, 2.0 * r / len(X), rtol=1e-12)


def test_fit_runs_a_subclass_train_step():
    class Counting(Kept):
        def train_step(self, x, y, sample_weight=None):
            self.steps += 1
            return super().train_step(x, y, sample_weight)

    tl.nn.clear_session()
    model = Counting()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.tile(X, (4, 1)), np.tile(Y, (4, 1)), epochs=3, batch_size=4, verbose=0)
    assert model.steps == 9
    assert model.last.grad is not None  # its own step: backward() as it wrote it


def test_a_non_finite_output_stops_fit_even_when_the_loss_ignores_it(capsys):
    class HalfInfinite(Model):
        def __init__(self):
            super().__init__()
            self.dense = Dense(1, input_shape=(2,), dtype="float64")

        def forward(self, x):
            h = self.dense(x)
            return tl.concatenate([h, h * np.inf], axis=1)  # the second column is +-inf

    def first_column_mse(y_true, y_pred):
        return ((y_pred[:, :1] - y_true) ** 2).mean(axis=-1)  # finite: the inf column is not used

    tl.nn.clear_session()
    model = HalfInfinite()
    model.compile(optimizer="sgd", loss=first_column_mse)
    before = [w.copy() for w in model.get_weights()]
    h = model.fit(X, Y, epochs=3, verbose=0)
    assert "the model's output became non-finite at epoch 1, batch 1" in h.stop_reason
    assert h.history == {} and "non-finite" in capsys.readouterr().err
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)  # no update applied


@pytest.mark.parametrize("options", [{}, {"batch_size": 2}, {"validation_split": 0.34}])
def test_fit_leaves_no_parameter_gradients_so_a_later_backward_is_that_loss_alone(options):
    # Plain epochs, mini-batches and the general loop alike: after fit a loss.backward() gives that
    # loss's gradient, not its sum with the last training step's (the README's demo draws one).
    tl.manual_seed(0)
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss=tl.keras.losses.MeanSquaredError())
    model.fit(X, Y, epochs=3, verbose=0, shuffle=False, **options)
    assert all(p.grad is None for p in model.parameters())
    loss = tl.keras.losses.MeanSquaredError()(tl.Tensor(Y), model(tl.Tensor(X)))
    loss.backward()
    w, b = model.layers[0].kernel.numpy().astype(np.float64), model.layers[0].bias.numpy().astype(np.float64)
    r = X @ w + b - Y  # d/dw mean((Xw + b - y)^2) = 2 X^T r / n, d/db = 2 sum(r) / n
    np.testing.assert_allclose(model.layers[0].kernel.grad.numpy(), 2 * X.T @ r / len(X), rtol=1e-5)
    np.testing.assert_allclose(model.layers[0].bias.grad.numpy(), 2 * r.sum(axis=0) / len(X), rtol=1e-5)
