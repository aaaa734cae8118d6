"""The call path of a built layer (nn/layers.py, nn/module.py): the graph Dense records, the name scope
of a renamed module, inputs of another dtype still converted, gradients against NumPy by hand."""
from __future__ import annotations

import numpy as np

import tinygrad_loss as tl
from tinygrad_loss.nn import Dense, Sequential


def _dense(dtype="float64", **kw):
    tl.nn.clear_session()
    layer = Dense(3, activation="relu", input_shape=(2,), dtype=dtype, **kw)
    layer.kernel.data[...] = [[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]]
    layer.bias.data[...] = [0.1, 0.2, -0.3]
    return layer


def test_dense_records_matmul_add_relu_under_its_scope():
    layer = _dense()
    x = tl.Tensor(np.array([[1.0, 2.0], [-1.0, 0.5]]))
    y = layer(x)
    add = y.parents[0]
    mm = add.parents[0]
    assert (y.op, add.op, mm.op) == ("relu", "add", "matmul")
    assert mm.parents == (x, layer.kernel) and add.parents[1] is layer.bias
    assert {t.scope for t in (y, add, mm)} == {"dense"}
    np.testing.assert_allclose(y.data, np.maximum(x.data @ layer.kernel.data + layer.bias.data, 0))


def test_dense_gradients_match_numpy_by_hand():
    layer = _dense()
    x = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.2]])
    y = layer(tl.Tensor(x))
    (y * y).sum().backward()
    z = x @ layer.kernel.data + layer.bias.data
    dz = 2.0 * np.maximum(z, 0) * (z > 0)
    np.testing.assert_allclose(layer.kernel.grad.data, x.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, dz.sum(0), rtol=1e-12)
    layer.bias.grad.data[0] = 99.0  # the bias's gradient is its own array (a sum, not a view of another)
    assert layer.kernel.grad.data[0, 0] != 99.0


def test_a_renamed_module_records_under_its_new_name():
    layer = _dense()
    x = tl.Tensor(np.ones((1, 2)))
    assert layer(x).scope == "dense"
    layer.name = "hidden"
    assert layer(x).scope == "hidden"
    model = Sequential([layer], name="net")
    assert model(x).scope == "net/hidden"


def test_inputs_of_another_dtype_are_converted_by_a_built_layer():
    layer = _dense("float32")
    for x in (tl.Tensor(np.array([[1.0, 2.0]])), np.array([[1, 2]]), [[1.0, 2.0]]):  # float64, int, list
        y = layer(x)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.data, [[1.6, 0.2, 0.0]], rtol=1e-6)


def test_a_layer_with_its_own_input_conversion_keeps_it_once_built():
    tl.nn.clear_session()
    emb = tl.nn.Embedding(10, 4)
    idx = tl.Tensor(np.array([[3.0, 2.0, 0.0]], dtype=np.float32))  # float32 indices, the layer's dtype
    first, again = emb(idx), emb(idx)  # the second call is on a built layer
    np.testing.assert_array_equal(again.data, emb.embeddings.data[[[3, 2, 0]]])
    np.testing.assert_array_equal(first.data, again.data)


def test_mean_over_axes_of_size_one_leaves_the_upstream_gradient_alone():
    x = tl.Tensor(np.array([[2.0], [4.0]]), requires_grad=True)
    m = x.mean(axis=1)                     # nothing to spread back: the rule must not divide g in place
    g = tl.Tensor(np.array([3.0, 5.0]))
    g.data.flags.writeable = False         # a read-only upstream gradient (written in place, this would raise)
    m.backward(g)
    np.testing.assert_array_equal(x.grad.data, [[3.0], [5.0]])
    y = tl.Tensor(np.ones((2, 3)), requires_grad=True)
    y.mean(axis=1).backward(g)             # spread over 3: each entry gets g / 3
    np.testing.assert_allclose(y.grad.data, np.repeat(g.data[:, None] / 3.0, 3, axis=1), rtol=1e-15)
