"""A subclass of a built-in loss (or of LossFunctionWrapper) that overrides ``call()`` is used, as in Keras:
its per-sample values are reduced, weighted and differentiated, not the parent's function's."""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import Tensor, losses

Y_TRUE = np.array([[1.0, 0.0], [0.5, 2.0], [3.0, -1.0]])
Y_PRED = np.array([[0.5, 0.5], [1.0, 1.0], [2.0, 0.0]])


class FourthPower(losses.MeanSquaredError):
    def call(self, y_true, y_pred):
        return ((y_true - y_pred) ** 4).mean(axis=-1)


class FourthPowerWrapper(losses.LossFunctionWrapper):
    def __init__(self):
        super().__init__(losses.mean_squared_error)

    def call(self, y_true, y_pred):
        return ((y_true - y_pred) ** 4).mean(axis=-1)


@pytest.mark.parametrize("cls", [FourthPower, FourthPowerWrapper])
def test_overridden_call_gives_the_values_and_the_gradient(cls):
    yp = Tensor(Y_PRED, requires_grad=True)
    loss = cls()(Y_TRUE, yp)
    per_sample = ((Y_TRUE - Y_PRED) ** 4).mean(axis=-1)
    assert loss.item() == pytest.approx(per_sample.mean(), rel=1e-12)
    loss.backward()
    # d/dyp of mean_i mean_j (t - p)^4 = -4 (t - p)^3 / (rows * cols)
    np.testing.assert_allclose(yp.grad.data, -4 * (Y_TRUE - Y_PRED) ** 3 / Y_TRUE.size, rtol=1e-12)


def test_overridden_call_with_sample_weight_and_reduction():
    w = np.array([1.0, 0.0, 2.0])
    per_sample = ((Y_TRUE - Y_PRED) ** 4).mean(axis=-1)
    assert FourthPower(reduction="sum")(Y_TRUE, Tensor(Y_PRED), sample_weight=w).item() == pytest.approx(
        (per_sample * w).sum(), rel=1e-12)
    np.testing.assert_allclose(FourthPower(reduction="none")(Y_TRUE, Tensor(Y_PRED)).data, per_sample, rtol=1e-12)


def test_the_built_in_loss_itself_is_unchanged():
    assert losses.MeanSquaredError()(Y_TRUE, Tensor(Y_PRED)).item() == pytest.approx(
        ((Y_TRUE - Y_PRED) ** 2).mean(), rel=1e-12)


def test_overridden_call_trains_in_fit():
    tl.manual_seed(0)
    model = tl.keras.Sequential([tl.keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss=FourthPower())
    x, y = np.array([[1.0, 2.0], [2.0, 3.0]]), np.array([[1.0], [2.0]])
    before = ((model.predict(x, verbose=0) - y) ** 4).mean()
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][0] == pytest.approx(before, rel=1e-5)
