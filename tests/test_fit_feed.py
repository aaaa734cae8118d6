"""How fit feeds its batches (training.py's _Feed and _target_maker): data that fits in one batch is
prepared once and fed in order; labels of shape (n,) against outputs of shape (n, 1) get their trailing
axis once, for the built-in losses of Keras's squeeze/expand rule only; a custom loss sees y as given."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import losses, optim
from tinygrad_loss.nn import Dense, Module, Sequential

X = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0], [0.0, 1.0], [4.0, 1.0]])
Y = np.array([3.0, 5.0, 7.0, 1.0, 5.0])
K0, B0 = np.array([[0.5], [-0.25]]), np.array([0.1])


def _linear():
    tl.nn.clear_session()
    m = Sequential([Dense(1, input_shape=(2,), dtype="float64")])
    m.set_weights([K0, B0])
    return m


def _numpy_history(epochs, lr=0.01):
    """Full-batch SGD on the MSE, by hand (float64): the epoch losses and the final weights."""
    k, b, hist = K0.copy(), B0.copy(), []
    for _ in range(epochs):
        r = X @ k + b - Y[:, None]
        hist.append(float(np.mean(r ** 2)))
        k, b = k - lr * 2.0 * X.T @ r / len(X), b - lr * 2.0 * r.sum(0) / len(X)
    return hist, k, b


@pytest.mark.parametrize("y", [Y, Y[:, None]], ids=["y (n,)", "y (n, 1)"])
@pytest.mark.parametrize("loss", ["mse", losses.MeanSquaredError(), losses.mean_squared_error],
                         ids=["name", "Loss", "function"])
def test_one_batch_fit_is_full_batch_sgd_whatever_the_label_shape(y, loss):
    model = _linear()
    model.compile(optimizer=optim.SGD(learning_rate=0.01), loss=loss)
    h = model.fit(X, y, epochs=6, verbose=0)
    ref, k, b = _numpy_history(6)
    np.testing.assert_allclose(h.history["loss"], ref, rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[0], k, rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-12)


def test_a_single_batch_is_fed_in_order_and_the_generator_is_not_drawn_from():
    fed = []

    def recording_mse(y_true, y_pred):
        fed.append(np.asarray(y_true).tolist())
        return losses.mean_squared_error(y_true, y_pred)

    model = _linear()
    model.compile(optimizer="sgd", loss=recording_mse)
    tl.manual_seed(5)
    model.fit(X, Y, epochs=3, verbose=0, shuffle=True)
    assert fed[-3:] == [Y.tolist()] * 3  # every epoch, the samples in their order
    after_fit = tl.get_generator().random()
    tl.manual_seed(5)
    assert after_fit == tl.get_generator().random()  # no permutation was drawn
    # with two batches each epoch draws a permutation: the order changes
    fed.clear()
    tl.manual_seed(5)
    model.fit(X, Y, epochs=3, batch_size=3, verbose=0, shuffle=True)
    batches = fed[-6:]
    assert [len(b) for b in batches] == [3, 2] * 3
    assert sorted(v for b in batches[:2] for v in b) == sorted(Y.tolist())
    assert [v for b in batches for v in b] != Y.tolist() * 3


def test_a_custom_loss_sees_y_as_given_a_built_in_one_gets_the_keras_axis():
    shapes = []

    def custom(y_true, y_pred):
        shapes.append((tuple(y_true.shape), tuple(y_pred.shape)))
        return ((y_true - y_pred[:, 0]) ** 2).mean()  # written for y of shape (n,)

    model = _linear()
    model.compile(optimizer="sgd", loss=custom)
    h = model.fit(X, Y, epochs=2, verbose=0)
    assert shapes[-1] == ((5,), (5, 1))
    np.testing.assert_allclose(h.history["loss"], _numpy_history(2)[0], rtol=1e-12)


def test_one_batch_is_copied_once_so_the_model_cannot_change_the_callers_arrays():
    class Doubling(Module):  # a model that edits its input in place (a bug, but not the caller's problem)
        def __init__(self):
            super().__init__()
            self.dense = Dense(1, input_shape=(2,), dtype="float64")

        def forward(self, x):
            x.data *= 2.0
            return self.dense(x)

    from tinygrad_loss.nn import Model

    class M(Model, Doubling):
        pass

    x = X.copy()
    model = M()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, Y, epochs=2, verbose=0)
    np.testing.assert_array_equal(x, X)


def test_a_tuple_without_layers_is_not_a_container_one_with_layers_is():
    class Blocks(Module):
        def __init__(self):
            super().__init__()
            self.shape = (3, 4)
            self.pair = (Dense(2), Dense(1))

        def forward(self, x):
            return self.pair[1](self.pair[0](x))

    m = Blocks()
    assert m._containers == ["pair"]
    assert [k for k, _ in m.named_children()] == ["pair.0", "pair.1"]
    m(tl.Tensor(np.ones((1, 3))))
    assert [n for n, _ in m.named_parameters()] == ["pair.0.kernel", "pair.0.bias", "pair.1.kernel", "pair.1.bias"]
    assert Dense(1, input_shape=(2,))._containers == []  # its input_shape tuple is plain state
