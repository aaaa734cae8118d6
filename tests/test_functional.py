"""The functional API (issue 18): keras.Input, layers called on symbolic tensors, keras.Model(inputs,
outputs) with several inputs/outputs, shared layers, merge layers, compile/fit, summary with
connections. Results are checked against NumPy computations with the model's own weights."""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import keras, losses
from tinygrad_loss.nn import Dense, Sequential

RNG = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def _fresh_names_float64():
    """Layers take the default dtype: float64 here, so gradients check in float64 (conftest resets it)."""
    tl.nn.clear_session()
    tl.set_default_dtype("float64")


def two_tower():
    """Two inputs through one shared Dense (one set of weights, two calls), merged two ways."""
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(3,), name="b")
    shared = keras.layers.Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    summed = keras.layers.Add(name="sum")([ha, hb])
    joined = keras.layers.Concatenate(name="join")([ha, hb])
    out1 = keras.layers.Dense(1, name="head1")(summed)
    out2 = keras.layers.Dense(2, name="head2")(joined)
    return keras.Model([a, b], [out1, out2]), shared


def numpy_two_tower(model, xa, xb):
    w = {n: p.data for n, p in model.named_parameters()}
    ha, hb = np.tanh(xa @ w["shared.kernel"] + w["shared.bias"]), np.tanh(xb @ w["shared.kernel"] + w["shared.bias"])
    y1 = (ha + hb) @ w["head1.kernel"] + w["head1.bias"]
    y2 = np.concatenate([ha, hb], axis=1) @ w["head2.kernel"] + w["head2.bias"]
    return y1, y2


def test_symbolic_tensors_record_calls_and_know_their_shapes():
    x = keras.Input(shape=(5,))
    h = keras.layers.Dense(3)(x)
    assert isinstance(x, keras.KerasTensor) and x.shape == (None, 5) and h.shape == (None, 3)
    assert h.node.layer.name == "dense" and h.node.parents == [x]
    assert keras.layers.Reshape((3, 1))(h).shape == (None, 3, 1)
    assert keras.layers.Concatenate()([h, h]).shape == (None, 6)
    assert repr(h) == "<KerasTensor shape=(None, 3), dtype=float64, name=dense>"
    with pytest.raises(TypeError, match="all symbolic .* or all data, not a mix"):
        keras.layers.Add()([h, np.ones((2, 3))])


def test_two_inputs_two_outputs_shared_layer_matches_numpy():
    model, shared = two_tower()
    assert isinstance(model, keras.Model) and [l.name for l in model.layers] == [
        "a", "b", "shared", "sum", "join", "head1", "head2"]
    assert [n for n, _ in model.named_parameters()] == [
        "shared.kernel", "shared.bias", "head1.kernel", "head1.bias", "head2.kernel", "head2.bias"]
    xa, xb = RNG.normal(size=(6, 3)), RNG.normal(size=(6, 3))
    y1, y2 = model([xa, xb])
    r1, r2 = numpy_two_tower(model, xa, xb)
    np.testing.assert_allclose(y1.data, r1, atol=1e-12)
    np.testing.assert_allclose(y2.data, r2, atol=1e-12)
    (y1.sum() + y2.sum()).backward()  # the shared kernel's gradient sums both uses
    ha = np.tanh(xa @ shared.kernel.data + shared.bias.data)
    hb = np.tanh(xb @ shared.kernel.data + shared.bias.data)
    w1, w2 = model.layers[5].kernel.data, model.layers[6].kernel.data
    ga = (w1.sum(1) + w2[:4].sum(1)) * (1 - ha ** 2)
    gb = (w1.sum(1) + w2[4:].sum(1)) * (1 - hb ** 2)
    np.testing.assert_allclose(shared.kernel.grad.data, xa.T @ ga + xb.T @ gb, atol=1e-10)
    p1, p2 = model.predict([xa, xb], batch_size=4)
    np.testing.assert_allclose(p1, r1, atol=1e-12)
    np.testing.assert_allclose(p2, r2, atol=1e-12)


def test_functional_model_fits_with_one_loss_per_output():
    model, _ = two_tower()
    xa, xb = RNG.normal(size=(32, 3)), RNG.normal(size=(32, 3))
    t1 = (xa + xb).sum(1, keepdims=True)
    t2 = np.stack([xa[:, 0], xb[:, 1]], axis=1)
    r1, r2 = numpy_two_tower(model, xa, xb)
    first = np.mean((r1 - t1) ** 2) + np.mean(np.abs(r2 - t2))  # the total is the sum of the outputs' losses
    model.compile(optimizer=tl.optim.Adam(learning_rate=0.02), loss=["mse", "mae"])
    assert model.evaluate([xa, xb], [t1, t2], verbose=0) == pytest.approx(first, rel=1e-12)
    h = model.fit([xa, xb], [t1, t2], epochs=60, batch_size=32, verbose=0, shuffle=False)
    assert h.history["loss"][0] == pytest.approx(first, rel=1e-12)
    assert h.history["loss"][-1] < 0.2 * first
    with pytest.raises(ValueError, match="fit: the model has 2 inputs, so x must be a list of 2 arrays, got ndarray"):
        model.fit(xa, [t1, t2], verbose=0)
    with pytest.raises(ValueError, match="every input and output must have the same number of samples"):
        model.fit([xa, xb[:5]], [t1, t2], verbose=0)


def test_functional_equals_the_same_sequential_model():
    x = RNG.normal(size=(20, 2))
    y = x @ np.array([[1.5], [-2.0]]) + 0.5

    def train(build):
        tl.nn.clear_session()
        tl.manual_seed(4)
        model = build()
        model.compile(optimizer="sgd", loss="mse")
        return model.fit(x, y, epochs=5, batch_size=8, verbose=0).history["loss"], model.get_weights()

    def functional():
        inp = keras.Input(shape=(2,))
        return keras.Model(inp, Dense(1)(Dense(3, activation="relu")(inp)))

    h_f, w_f = train(functional)
    h_s, w_s = train(lambda: Sequential([keras.Input(shape=(2,)), Dense(3, activation="relu"), Dense(1)]))
    assert h_f == h_s
    for a, b in zip(w_f, w_s):
        np.testing.assert_array_equal(a, b)


def test_summary_lists_inputs_and_connections():
    model, _ = two_tower()
    printed = []
    model.summary(print_fn=printed.append)
    rows = {line.split()[0]: line for line in printed[0].splitlines() if "(" in line and "Model" not in line}
    assert rows["a"].split()[-1] == "-"
    assert rows["sum"].endswith("shared[0][0], shared[1][0]")
    assert rows["join"].endswith("shared[0][0], shared[1][0]")
    assert rows["head2"].endswith("join[0][0]") and "(None, 2)" in rows["head2"]
    assert "Connected to" in printed[0] and "Total params: 39" in printed[0]
    assert model._repr_html_().count("<tr>") == 8


def test_training_argument_and_bad_graphs():
    inp = keras.Input(shape=(4,))
    model = keras.Model(inputs=inp, outputs=keras.layers.Dropout(0.5)(inp))
    x = np.ones((3, 4))
    model.eval()
    np.testing.assert_array_equal(model(x).data, x)
    assert np.any(model(x, training=True).data == 0) and not model.training
    other = keras.Input(shape=(4,))
    h = keras.layers.Add()([inp, other])
    with pytest.raises(ValueError, match="the outputs depend on the input 'input_layer_1', which is not among"):
        keras.Model(inp, h)
    with pytest.raises(ValueError, match="inputs must come from keras.Input"):
        keras.Model(h, h)
    with pytest.raises(TypeError, match="Model: outputs must be keras.Input tensors"):
        keras.Model(inp, np.ones(3))
    with pytest.raises(ValueError, match="the model has 2 inputs"):
        keras.Model([inp, other], h)(x)


def test_subclassed_model_keeps_working():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.hidden = Dense(3, activation="relu")
            self.out = Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    net = Net()
    assert type(net) is Net and net.name == "net"
    net.compile(optimizer="sgd", loss="mse")
    net.fit(np.ones((4, 2)), np.ones(4), epochs=1, verbose=0)
    assert [n for n, _ in net.named_parameters()] == ["hidden.kernel", "hidden.bias", "out.kernel", "out.bias"]
