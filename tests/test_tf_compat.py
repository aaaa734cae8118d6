"""The TensorFlow custom-loop names: Variable, constant, GradientTape, reduce_*, tf.nn, tf.random,
optimizer.apply_gradients and Model.trainable_variables (issue 12)."""
import warnings

import numpy as np
import pytest

import tinygrad_loss as tf
from tinygrad_loss import optim
from loop_reference import B0, LR, STEPS, W0, X, Y, reference_trajectory


# --- Variable, constant, convert_to_tensor --------------------------------------------------------

def test_variable_dtypes_follow_tensorflow():
    assert tf.Variable(np.array([1.0, 2.0])).dtype == np.float64      # a float64 array keeps float64
    assert tf.Variable([1.0, 2.0]).dtype == np.float32               # Python lists take float32
    assert tf.Variable(3).dtype == np.float32
    assert tf.Variable([1.0], dtype=tf.float64).dtype == np.float64
    assert tf.constant(np.array([1.0])).dtype == np.float64
    assert tf.constant([1.0, 2.0]).dtype == np.float32


def test_variable_is_a_trainable_tensor_and_assign_changes_it_in_place():
    v = tf.Variable(np.array([1.0, 2.0]), name="v")
    assert isinstance(v, tf.Tensor) and v.requires_grad and v.trainable and v.is_leaf
    data = v.data
    assert v.assign([5.0, 6.0]) is v
    v.assign_add(np.array([1.0, 1.0]))
    v.assign_sub(tf.constant(np.array([0.5, 2.0])))
    assert v.data is data                                            # same storage: bound optimizers see it
    np.testing.assert_array_equal(v.numpy(), [5.5, 5.0])
    v.numpy()[0] = 100.0                                            # numpy() is a copy, as in TensorFlow
    assert v.data[0] == 5.5
    assert not tf.Variable([1.0], trainable=False).requires_grad


def test_variable_assign_with_a_wrong_shape_names_the_method_and_changes_nothing():
    v = tf.Variable(np.array([1.0, 2.0]), name="w")
    for method in ("assign", "assign_add", "assign_sub"):
        with pytest.raises(ValueError, match=rf"Variable\.{method}: value has shape \(3,\) but the variable w"):
            getattr(v, method)([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"Variable\.assign: value must be numeric"):
        v.assign(["a", "b"])
    np.testing.assert_array_equal(v.data, [1.0, 2.0])


def test_constant_and_convert_to_tensor():
    c = tf.constant(2.0, shape=(2, 3))
    assert c.shape == (2, 3) and not c.requires_grad and (c.data == 2.0).all()
    assert tf.constant([1, 2, 3, 4], shape=[2, 2]).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="constant: value has 3 elements"):
        tf.constant([1, 2, 3], shape=(2, 2))
    t = tf.Tensor([1.0])
    assert tf.convert_to_tensor(t) is t
    assert tf.convert_to_tensor(np.array([1.0])).dtype == np.float64
    with pytest.raises(ValueError, match="convert_to_tensor: the tensor has dtype float32"):
        tf.convert_to_tensor(t, dtype=tf.float64)


# --- GradientTape -----------------------------------------------------------------------------------

def test_gradient_of_a_tensor_a_list_and_a_nested_structure():
    x = tf.Variable(np.array([1.0, 2.0, 3.0]))
    w = tf.Variable(np.array([0.5, -1.0, 2.0]))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(w * x * x)
    grads = tape.gradient(y, {"a": [x], "b": (w,)})
    assert set(grads) == {"a", "b"} and isinstance(grads["a"], list) and isinstance(grads["b"], tuple)
    np.testing.assert_allclose(grads["a"][0].data, 2 * w.data * x.data, rtol=1e-15)   # d/dx Σ w x² = 2 w x
    np.testing.assert_allclose(grads["b"][0].data, x.data ** 2, rtol=1e-15)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.exp(x))
    g = tape.gradient(y, x)
    assert isinstance(g, tf.Tensor)
    np.testing.assert_allclose(g.data, np.exp(x.data), rtol=1e-15)


def test_unconnected_source_gives_none_or_zeros():
    x, z = tf.Variable(np.array([1.0, 2.0])), tf.Variable(np.array([3.0]))
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(tf.square(x))
    gx, gz = tape.gradient(y, [x, z])
    assert gz is None
    np.testing.assert_allclose(gx.data, [2.0, 4.0])
    gz0 = tape.gradient(y, [x, z], unconnected_gradients="zero")[1]
    np.testing.assert_array_equal(gz0.data, [0.0])
    with pytest.raises(ValueError, match="unconnected_gradients must be 'none' or 'zero'"):
        tape.gradient(y, x, unconnected_gradients="ones")


def test_non_persistent_tape_refuses_a_second_gradient_call():
    x = tf.Variable(np.array(2.0))
    with tf.GradientTape() as tape:
        y = x * x
    np.testing.assert_allclose(tape.gradient(y, x).data, 4.0)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape can only compute one set of gradients.*"
                                           r"persistent=True"):
        tape.gradient(y, x)


def test_persistent_tape_gives_several_gradients():
    x = tf.Variable(np.array(3.0))
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * y
    np.testing.assert_allclose(tape.gradient(z, x).data, 4 * 3.0 ** 3)   # d x⁴ = 4x³
    np.testing.assert_allclose(tape.gradient(y, x).data, 6.0)
    np.testing.assert_allclose(tape.gradient(z, x).data, 108.0)


def test_nested_tapes_give_the_second_derivative_of_x_cubed():
    x = tf.Variable(np.array([-1.5, 0.5, 2.0]))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x ** 3
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    np.testing.assert_allclose(dy.data, 3 * x.data ** 2, rtol=1e-15)
    np.testing.assert_allclose(d2y.data, 6 * x.data, rtol=1e-15)


def test_watch_makes_a_constant_differentiable_for_the_tape_only():
    c = tf.constant(np.array([0.5, 1.0]))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.exp(c))
    assert tape.gradient(y, c) is None                              # not watched: no gradient, as TF
    with tf.GradientTape() as tape:
        tape.watch(c)
        y = tf.reduce_sum(tf.exp(c))
    assert c.requires_grad
    np.testing.assert_allclose(tape.gradient(y, c).data, np.exp(c.data), rtol=1e-15)
    assert not c.requires_grad                                      # given back once the tape is used
    with pytest.raises(TypeError, match="GradientTape.watch: tensor must be a Tensor"):
        tf.GradientTape().watch(np.array([1.0]))


def test_non_scalar_target_is_summed_unless_output_gradients_are_given():
    x = tf.Variable(np.array([1.0, 2.0]))
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
    np.testing.assert_allclose(tape.gradient(y, x).data, [2.0, 4.0])
    np.testing.assert_allclose(tape.gradient(y, x, output_gradients=np.array([10.0, -1.0])).data, [20.0, -4.0])
    with pytest.raises(ValueError, match=r"output_gradients of shape \(3,\) for a target of shape \(2,\)"):
        tape.gradient(y, x, output_gradients=np.ones(3))


def test_tape_records_inside_no_grad_and_stop_recording_does_not():
    x = tf.Variable(np.array(2.0))
    with tf.no_grad():
        with tf.GradientTape() as tape:
            y = x * x
            with tape.stop_recording():
                z = x * x
        assert not tf.is_grad_enabled()
    assert y.requires_grad and not z.requires_grad
    np.testing.assert_allclose(tape.gradient(y, x).data, 4.0)


def test_watch_accessed_variables_false_differentiates_only_watched_sources():
    a, b = tf.Variable(np.array(2.0)), tf.Variable(np.array(3.0))
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_allclose(ga.data, 3.0)
    assert gb is None


def test_bad_gradient_arguments_are_named():
    x = tf.Variable(np.array(1.0))
    with tf.GradientTape() as tape:
        y = x * 2
    with pytest.raises(TypeError, match="GradientTape.gradient: sources must be a Tensor"):
        tape.gradient(y, [np.array(1.0)])
    with pytest.raises(TypeError, match="GradientTape.gradient: target must be a Tensor"):
        tape.gradient(3.0, x)


# --- reduce_*, tf.nn, tf.random ---------------------------------------------------------------------

def test_reductions_and_activations_match_numpy():
    a = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    t = tf.constant(a)
    np.testing.assert_allclose(tf.reduce_mean(t).data, a.mean())
    np.testing.assert_allclose(tf.reduce_sum(t, axis=0).data, a.sum(axis=0))
    np.testing.assert_allclose(tf.reduce_max(t, axis=1, keepdims=True).data, a.max(axis=1, keepdims=True))
    np.testing.assert_allclose(tf.reduce_min(t).data, a.min())
    np.testing.assert_allclose(tf.matmul(t, tf.constant(a.T)).data, a @ a.T)
    np.testing.assert_allclose(tf.nn.relu(t).data, np.where(a > 0, a, 0.0))
    np.testing.assert_allclose(tf.nn.sigmoid(t).data, 1 / (1 + np.exp(-a)), rtol=1e-15)
    e = np.exp(a)
    np.testing.assert_allclose(tf.nn.softmax(t).data, e / e.sum(axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(tf.log(tf.exp(t)).data, a, rtol=1e-15, atol=1e-15)


def test_random_set_seed_makes_draws_and_weights_reproducible():
    tf.random.set_seed(7)
    a, u = tf.random.normal((3,), mean=1.0, stddev=2.0), tf.random.uniform((2,), minval=-1.0, maxval=1.0)
    k1 = tf.keras.layers.Dense(2, input_shape=(3,)).kernel.data.copy()
    tf.random.set_seed(7)
    np.testing.assert_array_equal(tf.random.normal((3,), mean=1.0, stddev=2.0).data, a.data)
    np.testing.assert_array_equal(tf.random.uniform((2,), minval=-1.0, maxval=1.0).data, u.data)
    np.testing.assert_array_equal(tf.keras.layers.Dense(2, input_shape=(3,)).kernel.data, k1)
    assert ((u.data >= -1) & (u.data < 1)).all()


# --- the TensorFlow custom loop lands on the NumPy reference --------------------------------------

def test_gradient_tape_loop_with_apply_gradients_matches_numpy_reference():
    ref_losses, ref_w, ref_b = reference_trajectory()
    x, y = tf.constant(X), tf.constant(Y)
    w, b = tf.Variable(W0.copy()), tf.Variable(B0.copy())
    optimizer = tf.keras.optimizers.SGD(learning_rate=LR)
    losses = []
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
        grads = tape.gradient(loss, [w, b])
        optimizer.apply_gradients(zip(grads, [w, b]))
        losses.append(loss.item())
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-10)
    np.testing.assert_allclose(b.data, ref_b, rtol=1e-10)
    assert optimizer.iterations == STEPS and optimizer.params == [w, b]


def test_gradient_tape_loop_with_assign_sub_matches_numpy_reference():
    ref_losses, ref_w, ref_b = reference_trajectory()
    w, b = tf.Variable(W0.copy()), tf.Variable(B0.copy())
    losses = []
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(X, w) + b - Y))
        dw, db = tape.gradient(loss, [w, b])
        w.assign_sub(LR * dw)
        b.assign_sub(LR * db)
        losses.append(loss.item())
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-10)
    np.testing.assert_allclose(b.data, ref_b, rtol=1e-10)


def test_keras_model_in_a_tape_loop_uses_trainable_variables():
    tf.set_default_dtype(np.float64)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.layers[-1].kernel.data[...] = W0
    model.layers[-1].bias.data[...] = B0
    assert [id(v) for v in model.trainable_variables] == [id(p) for p in model.parameters()]
    assert [id(v) for v in model.variables] == [id(p) for p in model.parameters()]
    assert model.non_trainable_variables == []
    optimizer = tf.keras.optimizers.SGD(learning_rate=LR)
    mse = tf.keras.losses.MeanSquaredError()
    losses = []
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            loss = mse(Y, model(X))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(loss.item())
    np.testing.assert_allclose(losses, reference_trajectory()[0], rtol=1e-10)


# --- apply_gradients -----------------------------------------------------------------------------------

def _optimizer_classes():
    return [getattr(optim, n) for n in optim.__all__
            if isinstance(getattr(optim, n), type) and issubclass(getattr(optim, n), optim.Optimizer)
            and getattr(optim, n) is not optim.Optimizer]


CONFIGS = [(cls, {}) for cls in _optimizer_classes()] + [
    (optim.SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.Adam, {"amsgrad": True}),
    (optim.RMSprop, {"momentum": 0.5, "centered": True}),
]


def _quadratic_grads(ws):
    """Gradients of Σ_i (i+1)·Σ(w_i - 0.3)² ... made of the current weights (no autodiff needed)."""
    return [2.0 * (i + 1) * (w.data - 0.3) for i, w in enumerate(ws)]


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=[f"{c.__name__}{'-' + '-'.join(k) if k else ''}" for c, k in CONFIGS])
def test_apply_gradients_equals_step(cls, kw):
    assert {c.__name__ for c in _optimizer_classes()} >= {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}
    start = [np.array([[0.5, -1.0], [2.0, 0.1]]), np.array([0.7, -0.2])]
    a = [tf.Tensor(s.copy(), requires_grad=True) for s in start]
    b = [tf.Variable(s.copy()) for s in start]
    opt_a, opt_b = cls(a, learning_rate=0.05, **kw), cls(learning_rate=0.05, **kw)   # Keras style: no parameters
    assert opt_b.params == []
    for _ in range(6):
        for w, g in zip(a, _quadratic_grads(a)):
            w.grad = tf.Tensor(g)
        opt_a.step()
        opt_b.apply_gradients(zip([tf.Tensor(g) for g in _quadratic_grads(b)], b))
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa.data, wb.data)
    assert opt_a.iterations == opt_b.iterations == 6
    assert opt_b.params == b
    for sa, sb in zip(opt_a.state, opt_b.state):
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])


def test_apply_gradients_skips_none_with_a_warning_and_refuses_all_none():
    v, u = tf.Variable(np.array([1.0, 2.0]), name="v"), tf.Variable(np.array([3.0]), name="u")
    opt = optim.SGD(learning_rate=0.5)
    with pytest.warns(UserWarning, match=r"SGD.apply_gradients: gradients do not exist for variables \['u'\]"):
        opt.apply_gradients([(np.array([1.0, -1.0]), v), (None, u)])
    np.testing.assert_array_equal(v.data, [0.5, 2.5])
    np.testing.assert_array_equal(u.data, [3.0])
    with pytest.raises(ValueError, match="SGD.apply_gradients: no gradients provided for any variable"):
        opt.apply_gradients([(None, u)])


def test_apply_gradients_bad_input_changes_nothing():
    v, u = tf.Variable(np.array([1.0, 2.0]), name="v"), tf.Variable(np.array([3.0]), name="u")
    opt = optim.Adam()
    with pytest.raises(ValueError, match=r"Adam.apply_gradients: gradient of shape \(3,\) for variable u of shape"):
        opt.apply_gradients([(np.ones(2), v), (np.ones(3), u)])
    assert opt.params == [] and opt.iterations == 0
    np.testing.assert_array_equal(v.data, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"Adam.apply_gradients: grads_and_vars must be \(gradient, variable\) pairs"):
        opt.apply_gradients([np.ones(2)])
    with pytest.raises(TypeError, match=r"Adam.apply_gradients: grads_and_vars must be"):
        opt.apply_gradients(3)


def test_model_variables_split_trainable_and_non_trainable_weights():
    class Scaled(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(1, input_shape=(2,))
            self.add_weight("scale", np.array([2.0]), trainable=False)

        def call(self, x):
            return self.dense(x) * self.scale

    model = Scaled()
    assert [id(v) for v in model.trainable_variables] == [id(p) for p in model.parameters()]
    assert len(model.trainable_variables) == 2
    assert [id(v) for v in model.non_trainable_variables] == [id(model.scale)]
    assert {id(v) for v in model.variables} == {id(v) for v in model.trainable_variables} | {id(model.scale)}
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(X) - Y))
    grads = tape.gradient(loss, model.trainable_variables + model.non_trainable_variables)
    assert grads[-1] is None and all(g is not None for g in grads[:-1])
    optimizer = tf.keras.optimizers.Adam()
    optimizer.apply_gradients(zip(grads[:-1], model.trainable_variables))
    assert model.scale.tolist() == [2.0]
