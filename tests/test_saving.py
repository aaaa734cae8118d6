"""Whole-model saving in Keras 3's own format (issue 18): .keras archives and .weights.h5 files.

Round trips here check predictions and continued training (same optimizer state) exactly; a
damaged, tampered or foreign file gives a clear error. The Keras interop tests run real Keras 3
(JAX backend, installed by the dev extra) in a subprocess, in both directions."""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import keras, optim
from tinygrad_loss.nn import Layer

import h5py  # the [keras] extra; the dev extra installs it, so a missing one fails rather than skips

RNG = np.random.default_rng(7)
X = RNG.normal(size=(16, 4)).astype(np.float32)
Y = (X[:, :1] * 2 - X[:, 1:2]).astype(np.float32)


@pytest.fixture(autouse=True)
def _fresh_names():
    tl.nn.clear_session()


def functional_model():
    inp = keras.Input(shape=(4,), name="x")
    h = keras.layers.Dense(8, activation="relu")(inp)
    n = keras.layers.BatchNormalization()(h)
    j = keras.layers.Concatenate()([h, n])
    r = keras.layers.Reshape((4, 4))(j)
    f = keras.layers.Flatten()(keras.layers.LayerNormalization()(r))
    out = keras.layers.Dense(1)(keras.layers.Activation("tanh")(keras.layers.Dropout(0.0)(f)))
    return keras.Model(inp, out, name="net")


def sequential_model():
    return keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)])


def fit_steps(model, epochs=3):
    return model.fit(X, Y, epochs=epochs, batch_size=8, shuffle=False, verbose=0).history["loss"]


@pytest.mark.parametrize("build", [functional_model, sequential_model])
@pytest.mark.parametrize("opt", [lambda: optim.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                                 lambda: optim.Adam(learning_rate=0.01, amsgrad=True, clipnorm=1.0),
                                 lambda: optim.AdamW(learning_rate=0.01),
                                 lambda: optim.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
                                 lambda: optim.Adagrad(learning_rate=0.1)])
def test_save_load_predicts_and_continues_training_identically(tmp_path, build, opt):
    model = build()
    model.compile(optimizer=opt(), loss="mse", metrics=["mae"])
    fit_steps(model)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and loaded is not model
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    assert fit_steps(loaded) == fit_steps(model)  # same optimizer state: the same next steps
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_archive_layout_is_keras_3(tmp_path):
    model = functional_model()
    model.compile(optimizer=optim.Adam(learning_rate=0.01), loss="mse")
    fit_steps(model, 1)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        config = json.loads(z.read("config.json"))
        z.extract("model.weights.h5", tmp_path)
    assert config["class_name"] == "Functional" and config["config"]["input_layers"] == ["x", 0, 0]
    dense = next(l for l in config["config"]["layers"] if l["name"] == "dense")
    assert dense["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert dense["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["x", 0, 0]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam" and config["compile_config"]["loss"] == "mse"
    with h5py.File(tmp_path / "model.weights.h5") as f:
        assert f["layers/dense/vars/0"].shape == (4, 8) and f["layers/dense_1/vars/0"].shape == (16, 1)
        bn = [f[f"layers/batch_normalization/vars/{i}"][()] for i in range(4)]
        np.testing.assert_array_equal(bn[2], model.layers[2].moving_mean.data)  # gamma, beta, mean, variance
        assert f["optimizer/vars/0"][()] == 2 and f["optimizer/vars/1"][()] == np.float32(0.01)
        # Adam's slots: for each weight, its momentum then its velocity
        np.testing.assert_array_equal(f["optimizer/vars/2"][()], model.optimizer.state[0]["momentum"])
        np.testing.assert_array_equal(f["optimizer/vars/3"][()], model.optimizer.state[0]["velocity"])


def test_weights_h5_round_trip_and_atomic_write(tmp_path, monkeypatch):
    model = sequential_model()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    other = sequential_model()
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    before = path.read_bytes()
    model.layers[1].kernel.data += 1.0

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["w.weights.h5"]
    with pytest.raises(ValueError, match="must end in .weights.h5 or .npz"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="must end in .keras"):
        model.save(tmp_path / "m.h5")


def test_weights_that_do_not_fit_change_nothing(tmp_path):
    small = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
    small.save_weights(tmp_path / "small.weights.h5")
    model = sequential_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="layers/dense/vars/0 .*the file holds shape \\(4, 3\\), the model expects \\(4, 5\\)"):
        model.load_weights(tmp_path / "small.weights.h5")
    bigger = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1),
                               keras.layers.Dense(1)])
    bigger.save_weights(tmp_path / "big.weights.h5")
    with pytest.raises(ValueError, match="weights this model does not have: layers/dense_2/vars"):
        model.load_weights(tmp_path / "big.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def saved(tmp_path):
    model = functional_model()
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "m.keras"
    model.save(path)
    return path


def rewrite(path, member, transform):
    with zipfile.ZipFile(path) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items[member] = transform(items[member])
    with zipfile.ZipFile(path, "w") as z:
        for n, data in items.items():
            z.writestr(n, data)


def test_truncated_tampered_and_foreign_files_give_clear_errors(tmp_path):
    path = saved(tmp_path)
    data = path.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.keras'.*not a .keras archive"):
        keras.models.load_model(tmp_path / "cut.keras")
    with open(tmp_path / "foreign.keras", "wb") as f:
        np.savez(f, a=np.ones(3))  # a zip, but not a Keras archive
    with pytest.raises(ValueError, match="the archive has no config.json or model.weights.h5"):
        keras.models.load_model(tmp_path / "foreign.keras")
    rewrite(path, "config.json", lambda b: b[:-10])
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        keras.models.load_model(path)
    path = saved(tmp_path)
    rewrite(path, "config.json", lambda b: b.replace(b'"Dense"', b'"Lambda"', 1))
    with pytest.raises(ValueError, match="unsupported layer 'Lambda'"):
        keras.models.load_model(path)
    path = saved(tmp_path)  # a class named from another module is never imported
    rewrite(path, "config.json", lambda b: b.replace(b'"module": "keras.layers", "class_name": "Dense"',
                                                     b'"module": "os", "class_name": "system"', 1))
    with pytest.raises(ValueError, match="unsupported layer 'system'"):
        keras.models.load_model(path)
    path = saved(tmp_path)
    rewrite(path, "model.weights.h5", lambda b: b[:200])
    with pytest.raises(ValueError, match="model.weights.h5 is not an HDF5 file"):
        keras.models.load_model(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        keras.models.load_model(tmp_path / "missing.keras")


class Scale(Layer):
    """A user layer: y = x · s with one trainable scalar, saved through custom_objects."""

    def __init__(self, init=2.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.add_weight("s", np.array([self.init], dtype=np.float32))
        super().build(input_shape)

    def forward(self, x):
        return x * self.s

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def test_custom_objects_rebuild_user_layers(tmp_path):
    inp = keras.Input(shape=(3,))
    model = keras.Model(inp, keras.layers.Dense(1)(Scale(3.0)(inp)))
    model.layers[1].s.data[...] = 5.0
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match="unsupported layer 'Scale'.*custom_objects"):
        keras.models.load_model(tmp_path / "c.keras")
    loaded = keras.models.load_model(tmp_path / "c.keras", custom_objects={"Scale": Scale})
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].s.data[0] == 5.0
    np.testing.assert_array_equal(loaded.predict(X[:, :3]), model.predict(X[:, :3]))


def test_configs_round_trip_for_layers_initializers_activations_optimizers():
    from tinygrad_loss.saving.config import deserialize_optimizer, serialize_optimizer
    for layer in [keras.layers.Dense(3, activation="gelu", kernel_initializer=tl.nn.initializers.HeNormal(seed=1)),
                  keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-2), keras.layers.Embedding(7, 2),
                  keras.layers.Dropout(0.3, noise_shape=(None, 1)), keras.layers.Reshape((2, -1)),
                  keras.layers.Concatenate(axis=1), keras.layers.LayerNormalization(axis=[1, 2])]:
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()
    for opt in [optim.SGD(learning_rate=0.1, momentum=0.5), optim.Adam(global_clipnorm=2.0),
                optim.RMSprop(learning_rate=optim.ExponentialDecay(0.1, 10, 0.5))]:
        again = deserialize_optimizer(json.loads(json.dumps(serialize_optimizer(opt))))
        assert type(again) is type(opt)
        assert again.current_learning_rate() == opt.current_learning_rate()
        assert {k: v for k, v in again.get_config().items() if k != "learning_rate"} == \
            {k: v for k, v in opt.get_config().items() if k != "learning_rate"}


# --- real Keras 3 -------------------------------------------------------------------------------

KERAS_ENV = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}

KERAS_SCRIPT = """
import os, numpy as np, keras
os.chdir(%r)
x, y = np.load("x.npy"), np.load("y.npy")
out = {}

# 1. our .keras archive in Keras: predictions, then three more epochs
m = keras.models.load_model("ours.keras")
out["ours_pred"] = m.predict(x, verbose=0)
out["ours_loss"] = np.array(m.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"])
out["ours_its"] = np.array(int(m.optimizer.iterations.numpy()))
out["ours_after"] = m.predict(x, verbose=0)

# 2. a Keras model (shared layer, merges, normalization) saved for us, then three more epochs
a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(2,), name="b")
shared = keras.layers.Dense(6, activation="relu")
ha, hb = shared(a), shared(b)
h = keras.layers.Concatenate()([keras.layers.Add()([ha, hb]), keras.layers.BatchNormalization()(ha)])
k = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.LayerNormalization()(h)))
k.compile(optimizer=keras.optimizers.RMSprop(0.01, momentum=0.5), loss="mse", metrics=["mae"])
xs = [x[:, :2], x[:, 2:]]
k.fit(xs, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
k.save("theirs.keras")
out["theirs_pred"] = k.predict(xs, verbose=0)
out["theirs_loss"] = np.array(k.fit(xs, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"])
out["theirs_after"] = k.predict(xs, verbose=0)

# 2b. a Keras Sequential (SGD with Nesterov momentum), saved for us, then three more epochs
q = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="elu"),
                      keras.layers.BatchNormalization(), keras.layers.Dense(1)])
q.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True), loss="mae")
q.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
q.save("theirs_seq.keras")
out["seq_pred"] = q.predict(x, verbose=0)
out["seq_loss"] = np.array(q.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"])

# 3. weights files both ways
s = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1)])
s.load_weights("ours.weights.h5")
out["weights_pred"] = s.predict(x, verbose=0)
for w in s.weights:
    w.assign(w.numpy() * 0.5)
s.save_weights("theirs.weights.h5")

# 4. every layer of this project in one model, saved here: predictions, then two more epochs
e = keras.models.load_model("every_layer.keras")
xi, yi = np.load("xi.npy"), np.load("yi.npy")
out["every_pred"] = e.predict(xi, verbose=0)
out["every_loss"] = np.array(e.fit(xi, yi, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"])
np.savez("keras_out.npz", **out)
"""


def every_layer_model():
    """Embedding, Flatten, Dropout(noise_shape), Dense, Activation, Reshape, LayerNormalization, Add,
    BatchNormalization; Adam with global_clipnorm; a Loss object with label smoothing. (Dropout's rate
    is 0 so that both frameworks draw no random masks and train identically.)"""
    ids = keras.Input(shape=(3,), name="ids")
    e = keras.layers.Flatten()(keras.layers.Embedding(10, 4)(ids))
    d = keras.layers.Dropout(0.0, noise_shape=(None, 1))(e)
    a = keras.layers.Activation("gelu")(keras.layers.Dense(6)(d))
    r = keras.layers.Flatten()(keras.layers.LayerNormalization()(keras.layers.Reshape((2, 3))(a)))
    out = keras.layers.Dense(3, activation="softmax")(
        keras.layers.BatchNormalization(momentum=0.9)(keras.layers.Add()([r, a])))
    model = keras.Model(ids, out)
    model.compile(optimizer=optim.Adam(learning_rate=0.01, global_clipnorm=1.0),
                  loss=tl.losses.CategoricalCrossentropy(label_smoothing=0.1), metrics=["accuracy"])
    return model


XI = RNG.integers(0, 10, size=(16, 3)).astype(np.float32)
YI = np.eye(3, dtype=np.float32)[np.arange(16) % 3]


@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    """Our files, what real Keras 3 (JAX backend, in a subprocess) did with them, and Keras's files."""
    # The dev extra installs Keras 3 and JAX: without them this is a broken install, not a reason to skip.
    assert importlib.util.find_spec("keras") and importlib.util.find_spec("jax"), \
        "Keras 3 with JAX is not installed (pip install -e '.[dev]' installs them)"
    tmp = tmp_path_factory.mktemp("keras")
    tl.nn.clear_session()
    model = functional_model()
    model.compile(optimizer=optim.Adam(learning_rate=0.01), loss="mse")
    fit_steps(model)
    model.save(tmp / "ours.keras")
    seq = sequential_model()
    seq.save_weights(tmp / "ours.weights.h5")
    np.save(tmp / "x.npy", X)
    np.save(tmp / "y.npy", Y)
    every = every_layer_model()
    every.fit(XI, YI, epochs=2, batch_size=8, shuffle=False, verbose=0)
    every.save(tmp / "every_layer.keras")
    np.save(tmp / "xi.npy", XI)
    np.save(tmp / "yi.npy", YI)
    r = subprocess.run([sys.executable, "-c", KERAS_SCRIPT % str(tmp)], env=KERAS_ENV, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp, model, seq, every, dict(np.load(tmp / "keras_out.npz"))


def test_a_model_saved_here_loads_and_trains_identically_in_keras(keras_run):
    _, model, _, _, out = keras_run
    np.testing.assert_allclose(out["ours_pred"], model.predict(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["ours_loss"], fit_steps(model), rtol=1e-4)  # same optimizer state in Keras
    assert int(out["ours_its"]) == model.optimizer.iterations == 12
    np.testing.assert_allclose(out["ours_after"], model.predict(X), rtol=1e-4, atol=1e-5)


def test_a_model_saved_by_keras_loads_and_trains_identically_here(keras_run):
    tmp, _, _, _, out = keras_run
    model = keras.models.load_model(tmp / "theirs.keras")
    assert [type(l).__name__ for l in model.layers].count("Dense") == 2 and model.optimizer.iterations == 4
    xs = [X[:, :2], X[:, 2:]]
    np.testing.assert_allclose(model.predict(xs), out["theirs_pred"], rtol=1e-5, atol=1e-6)
    h = model.fit(xs, Y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h, out["theirs_loss"], rtol=1e-4)
    np.testing.assert_allclose(model.predict(xs), out["theirs_after"], rtol=1e-4, atol=1e-5)


def test_weights_files_cross_between_keras_and_here(keras_run):
    tmp, _, seq, _, out = keras_run
    np.testing.assert_allclose(out["weights_pred"], seq.predict(X), rtol=1e-5, atol=1e-6)
    before = seq.get_weights()
    seq.load_weights(tmp / "theirs.weights.h5")
    for a, b in zip(seq.get_weights(), before):
        np.testing.assert_allclose(a, b * 0.5, rtol=1e-7)


def test_every_layer_saved_here_loads_and_trains_identically_in_keras(keras_run):
    _, _, _, every, out = keras_run
    np.testing.assert_allclose(out["every_pred"], every.predict(XI), rtol=1e-5, atol=1e-6)
    h = every.fit(XI, YI, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(out["every_loss"], h, rtol=1e-4)


def test_a_sequential_saved_by_keras_loads_and_trains_identically_here(keras_run):
    tmp, _, _, _, out = keras_run
    model = keras.models.load_model(tmp / "theirs_seq.keras")
    assert isinstance(model, keras.Sequential) and model.optimizer.nesterov and model.optimizer.iterations == 4
    np.testing.assert_allclose(model.predict(X), out["seq_pred"], rtol=1e-5, atol=1e-6)
    h = model.fit(X, Y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h, out["seq_loss"], rtol=1e-4)
