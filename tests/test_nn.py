"""Layers and models: Module bookkeeping, Dense (Keras layout, lazy build), activations,
initializers (Keras formulas), Dropout, Sequential, name scopes, weight files."""
import math
import os

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import gradcheck
from tinygrad_loss.nn import Dense, Dropout, Module, Sequential, activations, initializers


@pytest.fixture(autouse=True)
def _fresh_names():
    tl.nn.clear_session()


def summary_of(model):
    """The table summary() hands to print_fn (it returns None, as Keras)."""
    printed = []
    assert model.summary(print_fn=printed.append) is None
    assert len(printed) == 1
    return printed[0]


# --- Module ---------------------------------------------------------------------------------------

class TwoLayer(Module):
    def __init__(self):
        super().__init__()
        self.hidden = Dense(3, activation="relu", input_shape=(2,))
        self.out = Dense(1, input_shape=(3,))
        self.scale = tl.Tensor([2.0], requires_grad=True)
        self.constant = tl.Tensor([5.0])  # no grad: not a parameter

    def forward(self, x):
        return self.out(self.hidden(x)) * self.scale


def test_module_parameters_named_and_ordered():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "hidden.kernel", "hidden.bias", "out.kernel", "out.bias"]
    assert m.parameters()[1] is m.hidden.kernel and len(m.parameters()) == 5
    assert m.count_params() == 1 + 2 * 3 + 3 + 3 + 1
    assert m.hidden.kernel.name == "dense.kernel" and m.out.bias.name == "dense_1.bias"
    assert m.name == "two_layer"


def test_module_zero_grad_train_eval_and_call():
    m = TwoLayer()
    y = m(np.ones((4, 2), dtype=np.float32))
    assert y.shape == (4, 1)
    y.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    assert m.training and m.hidden.training
    m.eval()
    assert not m.training and not m.hidden.training and not m.out.training
    m.train()
    assert m.hidden.training


def test_layers_in_lists_and_dicts_are_tracked_like_keras(tmp_path):
    """self.blocks = [Dense, Dense] registers both layers (Keras tracks lists/dicts of layers): they
    get trained, switch mode, and are saved; before, they were silently left out of parameters()."""
    class Stack(Module):
        def __init__(self):
            super().__init__()
            self.blocks = [Dense(3, input_shape=(2,)), Dropout(0.5), Dense(1, input_shape=(3,))]
            self.heads = {"a": Dense(1, input_shape=(1,))}
            self.gains = (tl.Tensor([2.0], requires_grad=True), tl.Tensor([1.0]))  # only the first is a parameter
            self.sizes = [3, 1]  # plain values are ignored

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.heads["a"](x) * self.gains[0]

    m = Stack()
    assert [n for n, _ in m.named_parameters()] == [
        "gains.0", "blocks.0.kernel", "blocks.0.bias", "blocks.2.kernel", "blocks.2.bias", "heads.a.kernel",
        "heads.a.bias"]
    m.eval()
    assert not m.blocks[1].training and not m.heads["a"].training
    opt = tl.optim.SGD(m.parameters(), learning_rate=0.1)
    m(np.ones((4, 2), np.float32)).sum().backward()
    before = m.blocks[0].kernel.numpy().copy()
    opt.step()
    assert not np.array_equal(before, m.blocks[0].kernel.numpy())  # the listed layer trains
    m.blocks.append(Dense(1, input_shape=(1,)))  # appended later: still tracked
    assert "blocks.3.kernel" in dict(m.named_parameters())
    m.save_weights(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as f:
        assert set(f.files) == {n for n, _ in m.named_parameters()}
    m.blocks = None  # reassigning drops the container
    assert [n for n, _ in m.named_parameters()] == ["gains.0", "heads.a.kernel", "heads.a.bias"]


def test_module_requires_super_init_and_forward():
    class Bad(Module):
        def __init__(self):
            self.x = 1

    with pytest.raises(RuntimeError, match="super\\(\\).__init__"):
        Bad()

    class NoForward(Module):
        pass

    with pytest.raises(NotImplementedError, match="forward"):
        NoForward()(1)


def test_keras_call_spelling():
    class Doubler(Module):
        def call(self, x):
            return x * 2.0

    assert Doubler()(tl.Tensor([1.0])).item() == 2.0


# --- Dense ------------------------------------------------------------------------------------------

def test_dense_keras_layout_and_math():
    d = Dense(3, input_shape=(2,))
    assert d.kernel.shape == (2, 3) and d.bias.shape == (3,)
    np.testing.assert_array_equal(d.bias.data, 0)  # bias_initializer="zeros"
    x = np.array([[1.0, 2.0], [3.0, -1.0]], dtype=np.float32)
    np.testing.assert_allclose(d(x).data, x @ d.kernel.data + d.bias.data, rtol=1e-6)
    assert d.kernel.dtype == np.float32
    # applies to the last axis of higher-rank inputs
    assert d(np.ones((4, 5, 2))).shape == (4, 5, 3)


def test_dense_lazy_build_on_first_call():
    d = Dense(4, use_bias=False)
    assert not d.built and d.parameters() == []
    d(np.ones((2, 7)))
    assert d.built and d.kernel.shape == (7, 4) and d.bias is None and d.input_shape == (None, 7)
    with pytest.raises(ValueError, match="expected inputs with 7 features.*got shape \\(2, 3\\)"):
        d(np.ones((2, 3)))


def test_dense_argument_errors():
    with pytest.raises(ValueError, match="units"):
        Dense(0)
    with pytest.raises(ValueError, match="unknown activation 'rellu'"):
        Dense(2, activation="rellu")
    with pytest.raises(ValueError, match="unknown initializer"):
        Dense(2, kernel_initializer="glorot")
    with pytest.raises(ValueError, match="input_shape"):
        Dense(2, input_shape=(0,))


def test_dense_gradients_by_finite_differences():
    d = Dense(3, activation="tanh", input_shape=(4,), dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 4))

    def f(kernel, bias):
        return activations.tanh(tl.Tensor(x) @ kernel + bias)

    assert gradcheck(f, d.kernel.data, d.bias.data)
    # and the layer's own backward gives the hand-derived gradient of sum(tanh(x K + b))
    d(x).sum().backward()
    h = np.tanh(x @ d.kernel.data + d.bias.data)
    np.testing.assert_allclose(d.kernel.grad.data, x.T @ (1 - h ** 2), atol=1e-12)
    np.testing.assert_allclose(d.bias.grad.data, (1 - h ** 2).sum(0), atol=1e-12)


def test_layer_ops_recorded_under_its_name_scope():
    model = Sequential([Dense(2, activation="relu", input_shape=(3,)), Dense(1)])
    y = model(np.ones((2, 3)))
    assert [l.name for l in model.layers] == ["dense", "dense_1"]
    assert y.scope == "sequential/dense_1"
    scopes = {t.scope for t in tl.topological_order(y)}
    assert {"sequential/dense", "sequential/dense_1"} <= scopes
    matmuls = [t for t in tl.topological_order(y) if t.op == "matmul"]
    assert [t.scope for t in matmuls] == ["sequential/dense", "sequential/dense_1"]


def test_unique_names_like_keras():
    names = [Dense(1).name for _ in range(3)]
    assert names == ["dense", "dense_1", "dense_2"]
    assert Dense(1, name="out").name == "out"
    with pytest.raises(ValueError, match="name"):
        Dense(1, name="a/b")


# --- activations ------------------------------------------------------------------------------------

XS = np.array([-3.0, -1.0, -0.2, 0.3, 1.5, 4.0])
SQRT2 = math.sqrt(2.0)
REFERENCE = {  # textbook formulas, in NumPy / math
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "gelu": lambda x: np.array([0.5 * v * (1 + math.erf(v / SQRT2)) for v in x]),
    "softplus": lambda x: np.log(1 + np.exp(x)),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_activation_values_and_gradients(name):
    fn = activations.get(name)
    np.testing.assert_allclose(fn(tl.Tensor(XS)).data, REFERENCE[name](XS), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x: fn(x), XS)


def test_softmax_and_approximate_gelu():
    z = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]])
    e = np.exp(z)
    np.testing.assert_allclose(activations.softmax(tl.Tensor(z)).data, e / e.sum(-1, keepdims=True), rtol=1e-12)
    assert gradcheck(lambda x: activations.softmax(x) * tl.Tensor([1.0, 2.0, 3.0]), z)
    approx = 0.5 * XS * (1 + np.tanh(math.sqrt(2 / math.pi) * (XS + 0.044715 * XS ** 3)))
    np.testing.assert_allclose(activations.gelu(tl.Tensor(XS), approximate=True).data, approx, rtol=1e-12)
    # the exact and approximate forms really differ (Keras defaults to exact)
    assert np.max(np.abs(approx - REFERENCE["gelu"](XS))) > 1e-5


def test_activations_stable_for_large_inputs():
    big = tl.Tensor(np.array([-1000.0, 1000.0]), requires_grad=True)
    for name in ("softplus", "elu", "sigmoid"):
        y = activations.get(name)(big)
        y.sum().backward()
        assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(big.grad.data)), name
        big.zero_grad()
    np.testing.assert_allclose(activations.softplus(big).data, [0.0, 1000.0])


def test_activation_callable_and_default():
    assert activations.get(None) is activations.linear
    f = lambda x: x * 3.0
    assert activations.get(f) is f
    d = Dense(1, activation=f, input_shape=(1,), kernel_initializer="ones")
    assert d(np.array([[2.0]])).item() == pytest.approx(6.0)


# --- initializers -----------------------------------------------------------------------------------

def test_constant_initializers():
    assert np.all(initializers.get("zeros")((2, 3)) == 0)
    assert np.all(initializers.get("ones")((2,)) == 1)
    assert np.all(initializers.Constant(0.5)((4,)) == 0.5)
    assert initializers.get("zeros")((2, 2)).dtype == np.float32


@pytest.mark.parametrize("name,limit", [("glorot_uniform", math.sqrt(6 / (200 + 300))),
                                        ("he_uniform", math.sqrt(6 / 200)),
                                        ("random_uniform", 0.05)])
def test_uniform_initializers_follow_keras_limits(name, limit):
    w = initializers.get(name)((200, 300), np.float64)
    assert w.min() >= -limit and w.max() <= limit
    assert w.min() < -0.99 * limit and w.max() > 0.99 * limit  # and the whole range is used
    assert w.var() == pytest.approx(limit ** 2 / 3, rel=0.02)  # variance of U(-l, l)


@pytest.mark.parametrize("name,std", [("glorot_normal", math.sqrt(2 / (200 + 300))), ("he_normal", math.sqrt(2 / 200)),
                                      ("lecun_normal", math.sqrt(1 / 200))])
def test_truncated_normal_initializers_follow_keras(name, std):
    """Keras draws N(0, σ²) with σ = √(scale/n) / 0.8796..., truncated at ±2σ: the result has std √(scale/n)."""
    w = initializers.get(name)((200, 300), np.float64)
    sigma = std / 0.87962566103423978
    assert np.abs(w).max() <= 2 * sigma
    assert np.abs(w).max() > 1.95 * sigma
    assert w.std() == pytest.approx(std, rel=0.02)


def test_random_normal_default():
    w = initializers.get("random_normal")((300, 300), np.float64)
    assert w.std() == pytest.approx(0.05, rel=0.02) and abs(w.mean()) < 0.002
    assert np.abs(w).max() > 0.15  # not truncated


def test_same_seed_same_weights():
    tl.manual_seed(7)
    a = Sequential([Dense(4, input_shape=(3,), kernel_initializer="he_normal"), Dense(2)]).get_weights()
    tl.manual_seed(7)
    b = Sequential([Dense(4, input_shape=(3,), kernel_initializer="he_normal"), Dense(2)]).get_weights()
    tl.manual_seed(8)
    c = Sequential([Dense(4, input_shape=(3,), kernel_initializer="he_normal"), Dense(2)]).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


# --- Dropout ----------------------------------------------------------------------------------------

def test_dropout_train_vs_eval():
    drop = Dropout(0.25)
    x = tl.Tensor(np.ones((200, 50)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)  # inverted dropout: survivors scaled
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(kept, 1 / 0.75, 0.0))  # gradient through the same mask
    drop.eval()
    assert drop(x) is x
    assert drop(x, training=True) is not x  # Keras-style override
    drop.train()
    assert drop(x, training=False) is x
    with pytest.raises(ValueError, match="rate"):
        Dropout(1.0)


# --- Sequential -------------------------------------------------------------------------------------

def test_sequential_training_argument_sets_the_mode_for_one_call():
    model = Sequential([Dropout(0.5, input_shape=(100,))])
    x = np.ones((4, 100))
    assert np.any(model(x).data == 0)  # a fresh Module is in training mode (PyTorch convention)
    np.testing.assert_array_equal(model(x, training=False).data, x)
    assert model.training and model.layers[0].training
    model.eval()
    assert np.any(model(x, training=True).data == 0) and not model.layers[0].training


def test_keras_input_declares_the_input_shape():
    """Keras 3's Sequential([Input(shape=(2,)), Dense(1)]) builds and trains exactly like
    Dense(1, input_shape=(2,)): same weights from the same seed, same history; not in summary()."""
    from tinygrad_loss import keras

    def run(with_input):
        tl.manual_seed(7)
        tl.nn.clear_session()
        layers = [keras.Input(shape=(2,)), keras.layers.Dense(1)] if with_input else \
            [keras.layers.Dense(1, input_shape=(2,))]
        model = keras.Sequential(layers)
        assert model.built and model.input_spec == (2,)
        text = summary_of(model)
        model.compile(optimizer="sgd", loss="mse")
        hist = model.fit([[1, 2], [2, 3], [3, 4]], [3, 5, 7], epochs=5, verbose=0).history["loss"]
        return model, text, hist

    m_in, text_in, hist_in = run(True)
    m_shape, text_shape, hist_shape = run(False)
    assert text_in == text_shape and "input_layer" not in text_in and "(None, 1)" in text_in
    assert hist_in == hist_shape
    assert list(m_in.state_dict()) == list(m_shape.state_dict()) == ["dense.kernel", "dense.bias"]
    with pytest.raises(ValueError, match=r"input_layer: expected inputs of shape \(batch, 2\), got shape \(4, 3\)"):
        m_in.layers[0](np.ones((4, 3)))
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive ints"):
        keras.Input(shape=(0,))


def test_subclassed_model_summary_lists_its_layers():
    class Net(tl.nn.Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(4, activation="relu")
            self.out = Dense(1)
            self.scale = tl.Tensor([1.0], requires_grad=True)  # own parameter: in the total, not a row

        def call(self, x):
            return self.out(self.hidden(x)) * self.scale

    net = Net()
    assert "dense (Dense)" in summary_of(net) and "0 (unbuilt)" in summary_of(net)
    net(np.ones((2, 3), np.float32))
    text = summary_of(net)
    rows = [line.split() for line in text.splitlines() if "(Dense)" in line]
    assert rows == [["dense", "(Dense)", "(None,", "4)", "16"], ["dense_1", "(Dense)", "(None,", "1)", "5"]]
    assert "Total params: 22 (88.00 B)" in text  # 3*4+4 + 4*1+1 + 1, float32


def test_sequential_add_build_and_summary():
    model = Sequential(name="mlp")
    model.add(Dense(8, activation="relu", input_shape=(4,)))
    model.add(Dropout(0.5))
    model.add(Dense(3))
    assert model.built and [p.shape for p in model.parameters()] == [(4, 8), (8,), (8, 3), (3,)]
    text = summary_of(model)
    lines = text.splitlines()
    assert lines[0] == 'Model: "mlp"'
    assert any(l.startswith("dense (Dense)") and "(None, 8)" in l and l.endswith("40") for l in lines)
    assert any(l.startswith("dropout (Dropout)") and "(None, 8)" in l and l.endswith(" 0") for l in lines)
    assert any(l.startswith("dense_1 (Dense)") and "(None, 3)" in l and l.endswith("27") for l in lines)
    assert "Total params: 67 (268.00 B)" in text and "Trainable params: 67" in text
    with pytest.raises(ValueError, match="unique"):
        model.add(Dense(1, name="dense"))


def test_sequential_unbuilt_summary_then_lazy_build():
    model = Sequential([Dense(2), Dense(1)])
    assert not model.built and "0 (unbuilt)" in summary_of(model)
    model(np.ones((3, 5)))
    assert model.built and model.layers[0].kernel.shape == (5, 2)
    assert "(None, 1)" in summary_of(model)


# --- weights files ----------------------------------------------------------------------------------

def test_save_and_load_weights_roundtrip(tmp_path):
    model = Sequential([Dense(3, input_shape=(2,)), Dense(1)])
    path = tmp_path / "w.npz"
    model.save_weights(path)
    before = model.get_weights()
    assert sorted(np.load(path).files) == ["dense.bias", "dense.kernel", "dense_1.bias", "dense_1.kernel"]
    for p in model.parameters():
        p.data[...] = 9.0
    model.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert [f for f in os.listdir(tmp_path)] == ["w.npz"]  # no temporary file left behind


def test_load_weights_mismatch_changes_nothing(tmp_path):
    tl.nn.clear_session()
    small = Sequential([Dense(3, input_shape=(2,)), Dense(1)])
    small.save_weights(tmp_path / "small.npz")
    tl.nn.clear_session()
    wide = Sequential([Dense(4, input_shape=(2,)), Dense(1)])
    before = wide.get_weights()
    with pytest.raises(ValueError, match="'dense.kernel' has shape \\(2, 3\\) but .* expects \\(2, 4\\)"):
        wide.load_weights(tmp_path / "small.npz")
    assert all(np.array_equal(a, b) for a, b in zip(before, wide.get_weights()))
    other = Sequential([Dense(3, input_shape=(2,)), Dense(1), Dense(1)])
    with pytest.raises(ValueError, match="missing \\['dense_2.bias', 'dense_2.kernel'\\], unexpected none"):
        other.load_weights(tmp_path / "small.npz")
    # the same architecture built later in the session (global names dense_5...) reads the file
    same = Sequential([Dense(3, input_shape=(2,)), Dropout(0.1), Dense(1)])
    assert same.layers[0].name != "dense"
    same.load_weights(tmp_path / "small.npz")
    assert all(np.array_equal(a, b) for a, b in zip(small.get_weights(), same.get_weights()))
    with pytest.raises(FileNotFoundError, match="no such file"):
        other.load_weights(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_text("not a weights file")
    with pytest.raises(ValueError, match="not a weights file"):
        other.load_weights(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match=".npz"):
        other.save_weights(tmp_path / "w.h5")


def test_save_weights_is_atomic(tmp_path, monkeypatch):
    model = Sequential([Dense(1, input_shape=(2,))])
    path = tmp_path / "w.npz"
    model.save_weights(path)
    good = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == good and os.listdir(tmp_path) == ["w.npz"]


def test_state_dict_and_set_weights_checks():
    model = Sequential([Dense(2, input_shape=(2,))])
    sd = model.state_dict()
    assert list(sd) == ["dense.kernel", "dense.bias"]
    with pytest.raises(ValueError, match="2 weight arrays, got 1"):
        model.set_weights([np.zeros((2, 2))])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros((2, 2)), np.zeros(3)])
    model.set_weights([np.eye(2), np.ones(2)])
    np.testing.assert_array_equal(model(np.array([[1.0, 2.0]])).data, [[2.0, 3.0]])


# --- attribute tracking, non-trainable weights, summary display ----------------------------------

def test_attribute_tracking_rule_public_tracked_private_plain():
    """Public attributes holding a Module, a trainable Tensor or a list/dict of them are tracked;
    names starting with "_" are plain state; add_weight(trainable=False) makes a frozen weight."""

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.body = Dense(2, input_shape=(3,))
            self._cache = Dense(5, input_shape=(3,))       # private: not a sub-module
            self._w = tl.Tensor([1.0], requires_grad=True)  # private: not a weight
            self.heads = {"a": Dense(1, input_shape=(2,))}
            self.add_weight("count", np.zeros(2), trainable=False)

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["body.kernel", "body.bias", "heads.a.kernel", "heads.a.bias"]
    assert [n for n, _ in net.named_weights()] == ["count", "body.kernel", "body.bias", "heads.a.kernel", "heads.a.bias"]
    assert [w.shape for w in net.non_trainable_weights] == [(2,)] and not net.count.requires_grad
    assert net.count_params() == 2 + 6 + 2 + 2 + 1
    assert len(net.get_weights()) == 5 and list(net.state_dict())[0] == "count"
    net.set_weights([np.array([3.0, 4.0])] + net.get_weights()[1:])
    np.testing.assert_array_equal(net.count.data, [3.0, 4.0])
    net.body = None  # reassigning untracks
    assert [n for n, _ in net.named_parameters()] == ["heads.a.kernel", "heads.a.bias"]
    del net.heads
    assert net.parameters() == []


def test_summary_prints_returns_none_and_shows_in_notebooks(capsys):
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2)], name="net")
    assert model.summary() is None
    printed = capsys.readouterr().out
    assert printed.startswith('Model: "net"') and "Total params: 26" in printed and printed.count("\n") > 5
    page = model._repr_html_()
    assert page.count("<tr>") == 3  # header + two layers
    assert "<td>dense (Dense)</td><td>(None, 4)</td><td>16</td>" in page
    assert "<td>dense_1 (Dense)</td><td>(None, 2)</td><td>10</td>" in page
    assert "Total params: 26" in page and 'Model: "net"' in page


def test_seeded_initializers_repeat_and_configs_round_trip():
    for cls in (initializers.GlorotUniform, initializers.HeNormal, initializers.RandomNormal,
                initializers.RandomUniform, initializers.TruncatedNormal):
        init = cls(seed=3)
        np.testing.assert_array_equal(init((4, 5)), init((4, 5)))
        again = cls.from_config(init.get_config())
        assert type(again) is cls and again.get_config() == init.get_config()
        np.testing.assert_array_equal(again((4, 5)), init((4, 5)))
    assert initializers.GlorotUniform().get_config() == {"seed": None}
    assert initializers.VarianceScaling(2.0, "fan_out", "uniform").get_config() == {
        "scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": None}
    with pytest.raises(ValueError, match="RandomNormal: seed must be None or a non-negative int"):
        initializers.RandomNormal(seed=-1)
