"""The everyday Keras layers (issue 18): each checked against a NumPy reference and by central
finite differences in float64 (gradcheck), through the layer itself."""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import gradcheck
from tinygrad_loss.nn import (Activation, Add, BatchNormalization, Concatenate, Dense, Dropout, Embedding, Flatten,
                              LayerNormalization, Reshape, Sequential)

RNG = np.random.default_rng(42)


@pytest.fixture(autouse=True)
def _fresh_names_float64():
    """Layers take the default dtype: float64 here, so gradients check in float64 (conftest resets it)."""
    tl.nn.clear_session()
    tl.set_default_dtype("float64")


def layer_fn(layer, weight_names=()):
    """fn(x, *weights) running ``layer`` with the given weights put in place (gradcheck's leaves)."""
    def fn(x, *weights):
        for name, w in zip(weight_names, weights):
            setattr(layer, name, w)
        return layer(x)
    return fn


def test_flatten_reshape_activation_values_shapes_and_gradients():
    x = RNG.normal(size=(3, 2, 4))
    flat = Flatten()
    np.testing.assert_array_equal(flat(x).data, x.reshape(3, 8))
    assert flat.compute_output_shape((None, 2, 4)) == (None, 8)
    assert gradcheck(layer_fn(flat), x)
    r = Reshape((4, -1))
    np.testing.assert_array_equal(r(x).data, x.reshape(3, 4, 2))
    assert r.compute_output_shape((None, 2, 4)) == (None, 4, 2)
    assert gradcheck(layer_fn(r), x)
    with pytest.raises(ValueError, match="cannot reshape inputs of shape \\(None, 2, 4\\) \\(8 values per sample\\)"):
        Reshape((3, -1))(x)
    with pytest.raises(ValueError, match="at most one -1"):
        Reshape((-1, -1))
    act = Activation("tanh")
    np.testing.assert_allclose(act(x).data, np.tanh(x), atol=1e-15)
    assert gradcheck(layer_fn(act), x)
    with pytest.raises(ValueError, match="unknown activation 'tanhh'"):
        Activation("tanhh")


def test_add_and_concatenate_match_numpy_and_route_gradients():
    a, b, c = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3)), RNG.normal(size=(4, 2))
    np.testing.assert_allclose(Add()([a, b, a]).data, 2 * a + b, atol=1e-15)
    np.testing.assert_array_equal(Concatenate()([a, c]).data, np.concatenate([a, c], axis=-1))
    assert Concatenate().compute_output_shape([(None, 3), (None, 2)]) == (None, 5)
    add, cat = Add(), Concatenate(axis=1)
    assert gradcheck(lambda p, q: add([p, q]), a, b)
    assert gradcheck(lambda p, q: cat([p, q]), a, c)
    with pytest.raises(ValueError, match="Add needs inputs of the same shape"):
        Add()([a, c])
    with pytest.raises(ValueError, match="takes a list of at least 2 inputs"):
        Concatenate()(a)
    with pytest.raises(ValueError, match="match except on axis"):
        Concatenate(axis=1)([RNG.normal(size=(4, 3, 2)), RNG.normal(size=(4, 3, 5))])


def numpy_batchnorm(x, gamma, beta, axes, eps=1e-3):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # biased, as Keras
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean.squeeze(), var.squeeze()


def test_batch_normalization_training_inference_and_moving_statistics():
    """Keras's defaults momentum=0.99, epsilon=1e-3: training normalizes with the batch's mean and
    biased variance and moves the statistics by 1% towards them; inference uses the moving ones."""
    bn = BatchNormalization(dtype="float64")
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
    x = RNG.normal(loc=3.0, scale=2.0, size=(16, 3))
    y = bn(x)  # a fresh layer is in training mode
    assert [n for n, _ in bn.named_weights()] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [n for n, _ in bn.named_parameters()] == ["gamma", "beta"]
    ref, mean, var = numpy_batchnorm(x, 1.0, 0.0, (0,))
    np.testing.assert_allclose(y.data, ref, atol=1e-12)
    np.testing.assert_allclose(bn.moving_mean.data, 0.01 * mean, atol=1e-12)
    np.testing.assert_allclose(bn.moving_variance.data, 0.99 + 0.01 * var, atol=1e-12)
    bn(x)
    np.testing.assert_allclose(bn.moving_mean.data, 0.99 * 0.01 * mean + 0.01 * mean, atol=1e-12)
    bn.eval()
    before = bn.moving_mean.data.copy()
    out = bn(x).data
    expected = (x - bn.moving_mean.data) / np.sqrt(bn.moving_variance.data + 1e-3)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    np.testing.assert_array_equal(bn.moving_mean.data, before)  # inference never moves the statistics
    np.testing.assert_allclose(bn(x, training=True).data, ref, atol=1e-12)  # per-call override


def test_batch_normalization_gradients_through_batch_statistics():
    x = RNG.normal(size=(6, 3, 2))
    for axis in (-1, 1):
        bn = BatchNormalization(axis=axis, momentum=0.9, epsilon=1e-2, dtype="float64")
        bn(x)
        gamma, beta = RNG.uniform(0.5, 2.0, size=bn.gamma.shape), RNG.normal(size=bn.beta.shape)
        assert gradcheck(layer_fn(bn, ("gamma", "beta")), x, gamma, beta)
        axes = tuple(i for i in range(3) if i != axis % 3)
        shape = [1, 1, 1]
        shape[axis % 3] = x.shape[axis]
        ref, _, _ = numpy_batchnorm(x, gamma.reshape(shape), beta.reshape(shape), axes, eps=1e-2)
        np.testing.assert_allclose(layer_fn(bn, ("gamma", "beta"))(x, tl.Tensor(gamma), tl.Tensor(beta)).data, ref,
                                   atol=1e-12)
        bn.eval()
        assert gradcheck(layer_fn(bn, ("gamma", "beta")), x, gamma, beta)


def test_layer_normalization_matches_numpy_and_gradchecks():
    x = RNG.normal(size=(4, 3, 5))
    ln = LayerNormalization(dtype="float64")
    assert ln.epsilon == 1e-3
    ln(x)
    gamma, beta = RNG.uniform(0.5, 2.0, size=5), RNG.normal(size=5)
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    ref = gamma * (x - mean) / np.sqrt(var + 1e-3) + beta
    fn = layer_fn(ln, ("gamma", "beta"))
    np.testing.assert_allclose(fn(x, tl.Tensor(gamma), tl.Tensor(beta)).data, ref, atol=1e-12)
    assert gradcheck(fn, x, gamma, beta)
    both = LayerNormalization(axis=[1, 2], dtype="float64")
    assert both(x).shape == x.shape and both.gamma.shape == (3, 5)
    m2, v2 = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(both(x).data, (x - m2) / np.sqrt(v2 + 1e-3), atol=1e-12)


def test_embedding_looks_up_rows_and_adds_gradients_of_repeats():
    emb = Embedding(5, 3, dtype="float64")
    idx = np.array([[0, 2, 2], [4, 0, 2]])
    out = emb(idx)
    table = emb.embeddings.data
    assert out.shape == (2, 3, 3) and emb.compute_output_shape((None, 3)) == (None, 3, 3)
    np.testing.assert_array_equal(out.data, table[idx])
    assert np.all(np.abs(table) <= 0.05)  # Keras's default U(-0.05, 0.05)
    g = RNG.normal(size=out.shape)
    (out * tl.Tensor(g)).sum().backward()
    expected = np.zeros_like(table)
    np.add.at(expected, idx, g)
    np.testing.assert_allclose(emb.embeddings.grad.data, expected, atol=1e-12)
    assert gradcheck(lambda t: layer_fn(emb, ("embeddings",))(idx, t), table)
    np.testing.assert_array_equal(emb(idx.astype(float)).data, table[idx])  # what fit hands it
    with pytest.raises(ValueError, match="indices must lie in \\[0, 5\\), got values from 0 to 5"):
        emb(np.array([[0, 5]]))
    with pytest.raises(ValueError, match="whole-number indices"):
        emb(np.array([[0.5, 1.0]]))


def test_dropout_noise_shape_shares_the_mask_along_broadcast_axes():
    tl.manual_seed(0)
    x = np.ones((8, 5, 6))
    drop = Dropout(0.5, noise_shape=(None, 1, None))
    y = drop(x).data
    assert set(np.unique(y)) <= {0.0, 2.0}
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1, :], y.shape))  # same features dropped at every step
    assert 0 < (y == 0).mean() < 1
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)
    with pytest.raises(ValueError, match="noise_shape \\(None, 2, None\\) does not broadcast"):
        Dropout(0.5, noise_shape=(None, 2, None))(x)
    mask_x = RNG.normal(size=(4, 3))
    d = Dropout(0.3, noise_shape=(1, 3))
    tl.manual_seed(5)
    ref = d(mask_x).data
    tl.manual_seed(5)
    assert gradcheck(lambda t: (tl.manual_seed(5), d(t))[1], mask_x)
    assert np.all((ref == 0) | np.isclose(ref, mask_x / 0.7))


def test_batchnorm_model_trains_and_counts_moving_statistics_as_non_trainable():
    tl.manual_seed(1)
    x = tl.get_generator().normal(loc=5.0, scale=3.0, size=(64, 4))
    y = (x[:, :1] - 5.0) / 3.0
    model = Sequential([Dense(8, input_shape=(4,)), BatchNormalization(), Activation("relu"), Dense(1)])
    printed = []
    model.summary(print_fn=printed.append)
    assert "Non-trainable params: 16 (128.00 B)" in printed[0] and "Trainable params: 65" in printed[0]
    model.compile(optimizer=tl.optim.Adam(learning_rate=0.02), loss="mse")
    h = model.fit(x, y, epochs=40, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.05 * h.history["loss"][0]
    bn = model.layers[1]
    assert len(model.optimizer.params) == 6  # moving statistics are never given to the optimizer
    assert not np.allclose(bn.moving_mean.data, 0.0)
    pred = model.predict(x[:5])
    h1 = x[:5] @ model.layers[0].kernel.data + model.layers[0].bias.data
    h1 = (h1 - bn.moving_mean.data) / np.sqrt(bn.moving_variance.data + 1e-3) * bn.gamma.data + bn.beta.data
    ref = np.maximum(h1, 0) @ model.layers[3].kernel.data + model.layers[3].bias.data
    np.testing.assert_allclose(pred, ref, rtol=1e-5, atol=1e-5)
