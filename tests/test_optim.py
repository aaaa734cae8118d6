"""Optimizers against NumPy references of their published (Keras 3) update rules, in float64.

Each reference below is written from the rule as Keras documents/implements it, independently
of tinygrad_loss.optim, and driven by gradients computed by hand (not by the autodiff engine).
"""
import math

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import optim
from tinygrad_loss.losses import MeanSquaredError
from tinygrad_loss.nn import Dense, Sequential

# --- NumPy references of the update rules ----------------------------------------------------------


def ref_sgd(lr=0.01, momentum=0.0, nesterov=False, weight_decay=None):
    def init(w):
        return {"v": np.zeros_like(w)}

    def step(w, g, s, t, lr_t):
        if weight_decay:
            w = w - w * weight_decay * lr_t
        if momentum == 0:
            return w - lr_t * g
        s["v"] = momentum * s["v"] - lr_t * g
        if nesterov:
            return w + momentum * s["v"] - lr_t * g
        return w + s["v"]

    return init, step


def ref_adam(beta_1=0.9, beta_2=0.999, eps=1e-7, amsgrad=False, weight_decay=None):
    def init(w):
        return {"m": np.zeros_like(w), "v": np.zeros_like(w), "vmax": np.zeros_like(w)}

    def step(w, g, s, t, lr_t):
        if weight_decay:
            w = w - w * weight_decay * lr_t
        s["m"] = beta_1 * s["m"] + (1 - beta_1) * g
        s["v"] = beta_2 * s["v"] + (1 - beta_2) * g * g
        v = s["v"]
        if amsgrad:
            s["vmax"] = np.maximum(s["vmax"], s["v"])
            v = s["vmax"]
        # Keras: the bias corrections fold into the step size; epsilon is added to sqrt(v) of the raw v.
        step_size = lr_t * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        return w - step_size * s["m"] / (np.sqrt(v) + eps)

    return init, step


def ref_rmsprop(rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    def init(w):
        return {"v": np.zeros_like(w), "mom": np.zeros_like(w), "a": np.zeros_like(w)}

    def step(w, g, s, t, lr_t):
        s["v"] = rho * s["v"] + (1 - rho) * g ** 2
        if centered:
            s["a"] = rho * s["a"] + (1 - rho) * g
            d = lr_t * g / np.sqrt(s["v"] - s["a"] ** 2 + eps)
        else:
            d = lr_t * g / np.sqrt(s["v"] + eps)  # Keras: epsilon inside the square root
        if momentum > 0:
            s["mom"] = momentum * s["mom"] + d
            return w - s["mom"]
        return w - d

    return init, step


def ref_adagrad(initial=0.1, eps=1e-7):
    def init(w):
        return {"acc": np.full_like(w, initial)}

    def step(w, g, s, t, lr_t):
        s["acc"] = s["acc"] + g ** 2
        return w - lr_t * g / np.sqrt(s["acc"] + eps)

    return init, step


# (name, constructor of our optimizer, reference, learning rate used by the reference)
CASES = [
    ("sgd", lambda p: optim.SGD(p), ref_sgd(), 0.01),
    ("sgd_momentum", lambda p: optim.SGD(p, learning_rate=0.05, momentum=0.9), ref_sgd(momentum=0.9), 0.05),
    ("sgd_nesterov", lambda p: optim.SGD(p, learning_rate=0.05, momentum=0.8, nesterov=True),
     ref_sgd(momentum=0.8, nesterov=True), 0.05),
    ("sgd_weight_decay", lambda p: optim.SGD(p, learning_rate=0.05, weight_decay=0.1),
     ref_sgd(weight_decay=0.1), 0.05),
    ("adam", lambda p: optim.Adam(p), ref_adam(), 0.001),
    ("adam_lr", lambda p: optim.Adam(p, learning_rate=0.05), ref_adam(), 0.05),
    ("adam_amsgrad", lambda p: optim.Adam(p, learning_rate=0.05, amsgrad=True), ref_adam(amsgrad=True), 0.05),
    ("adamw", lambda p: optim.AdamW(p, learning_rate=0.05), ref_adam(weight_decay=0.004), 0.05),
    ("rmsprop", lambda p: optim.RMSprop(p), ref_rmsprop(), 0.001),
    ("rmsprop_momentum_centered", lambda p: optim.RMSprop(p, learning_rate=0.01, momentum=0.5, centered=True),
     ref_rmsprop(momentum=0.5, centered=True), 0.01),
    ("adagrad", lambda p: optim.Adagrad(p), ref_adagrad(), 0.001),
    ("adagrad_lr", lambda p: optim.Adagrad(p, learning_rate=0.1), ref_adagrad(), 0.1),
]

# --- a fixed quadratic: f(w) = ½ (w - c)ᵀ A (w - c), ∇f = A (w - c) ------------------------------

A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
C = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.3, 0.7, -1.2])


def quad_loss(w):
    d = w - tl.Tensor(C)
    return 0.5 * (d @ (tl.Tensor(A) @ d))


@pytest.mark.parametrize("name,make,ref,lr", CASES, ids=[c[0] for c in CASES])
def test_trajectory_on_quadratic_matches_reference(name, make, ref, lr):
    w = tl.Tensor(W0.copy(), requires_grad=True)
    opt = make([w])
    init, step = ref
    rw, rs = W0.copy(), init(W0)
    f0 = 0.5 * (W0 - C) @ A @ (W0 - C)
    for t in range(1, 51):
        opt.zero_grad()
        quad_loss(w).backward()
        opt.step()
        rw = step(rw, A @ (rw - C), rs, t, lr)
        np.testing.assert_allclose(w.data, rw, rtol=0, atol=1e-6, err_msg=f"{name}: step {t}")
    assert opt.iterations == 50
    assert w.dtype == np.float64
    assert 0.5 * (rw - C) @ A @ (rw - C) < f0  # and the convex loss went down


# --- a small model: Dense(4, tanh) -> Dense(1), MSE, with hand-written backprop ----------------------

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 0.1], [1.0, 1.0, 1.0], [-1.3, 0.4, 0.9]])
Y = np.array([[1.0], [-0.5], [0.3], [2.0], [-1.0]])
W1 = np.array([[0.2, -0.3, 0.5, 0.1], [0.4, 0.1, -0.2, 0.3], [-0.1, 0.2, 0.3, -0.4]])
B1 = np.array([0.05, -0.05, 0.1, 0.0])
W2 = np.array([[0.3], [-0.6], [0.2], [0.5]])
B2 = np.array([0.1])


def mlp_loss_and_grads(ws):
    w1, b1, w2, b2 = ws
    h = np.tanh(X @ w1 + b1)
    out = h @ w2 + b2
    n = out.size
    loss = np.mean((out - Y) ** 2)
    d_out = 2.0 * (out - Y) / n
    d_h = (d_out @ w2.T) * (1 - h ** 2)
    return loss, [X.T @ d_h, d_h.sum(0), h.T @ d_out, d_out.sum(0)]


def small_model():
    tl.nn.clear_session()
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,), dtype="float64"), Dense(1)])
    model.set_weights([W1, B1, W2, B2])
    return model


@pytest.mark.parametrize("name,make,ref,lr", CASES, ids=[c[0] for c in CASES])
def test_trajectory_on_small_model_matches_reference(name, make, ref, lr):
    model = small_model()
    opt = make(model.parameters())
    loss_fn = MeanSquaredError()
    init, step = ref
    rws = [a.copy() for a in (W1, B1, W2, B2)]
    states = [init(a) for a in rws]
    losses, ref_losses = [], []
    for t in range(1, 51):
        opt.zero_grad()
        loss = loss_fn(Y, model(X))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        rl, grads = mlp_loss_and_grads(rws)
        ref_losses.append(rl)
        rws = [step(w, g, s, t, lr) for w, g, s in zip(rws, grads, states)]
        for p, rw in zip(model.parameters(), rws):
            np.testing.assert_allclose(p.data, rw, rtol=0, atol=1e-6, err_msg=f"{name}: step {t}, {p.name}")
    np.testing.assert_allclose(losses, ref_losses, rtol=0, atol=1e-6)
    assert mlp_loss_and_grads(rws)[0] < ref_losses[0]


# --- published example values (Keras docstrings) --------------------------------------------------


def _minimize_half_square(opt_cls, start, steps, **kw):
    """loss = w²/2 (so dloss/dw = w), as in Keras's docstring examples."""
    w = tl.Tensor(np.array(start), requires_grad=True)
    opt = opt_cls([w], **kw)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        (w * w / 2.0).backward()
        opt.step()
        out.append(float(w.data))
    return out


def test_keras_doc_example_values():
    # keras.optimizers.RMSprop docstring: lr 0.1, var 10 -> 9.683772 after one step
    assert _minimize_half_square(optim.RMSprop, 10.0, 1, learning_rate=0.1)[0] == pytest.approx(9.683772, abs=1e-6)
    # tf.keras SGD docstring: lr 0.1, momentum 0.9, var 1: first step moves 0.1, the second 0.18
    v1, v2 = _minimize_half_square(optim.SGD, 1.0, 2, learning_rate=0.1, momentum=0.9)
    assert 1.0 - v1 == pytest.approx(0.1, abs=1e-12) and v1 - v2 == pytest.approx(0.18, abs=1e-12)
    # tf.keras Adam docstring: lr 0.1, var 10 -> 9.9 after one step
    assert _minimize_half_square(optim.Adam, 10.0, 1, learning_rate=0.1)[0] == pytest.approx(9.9, abs=1e-6)


def test_keras_adam_epsilon_differs_from_pytorch_placement():
    """Keras adds ε to √v (uncorrected); PyTorch to √v̂ (bias-corrected). With a large ε the two differ."""
    eps, lr, b1, b2 = 0.1, 0.1, 0.9, 0.999
    ours = _minimize_half_square(optim.Adam, 1.0, 1, learning_rate=lr, epsilon=eps)[0]
    g = 1.0
    m, v = (1 - b1) * g, (1 - b2) * g * g
    keras = 1.0 - lr * math.sqrt(1 - b2) / (1 - b1) * m / (math.sqrt(v) + eps)
    torch_rule = 1.0 - lr * (m / (1 - b1)) / (math.sqrt(v / (1 - b2)) + eps)
    assert ours == pytest.approx(keras, abs=1e-12)
    assert abs(ours - torch_rule) > 1e-3


# --- defaults, aliases, schedules -------------------------------------------------------------------


def test_keras_defaults():
    assert optim.SGD().learning_rate == 0.01 and optim.SGD().momentum == 0.0 and not optim.SGD().nesterov
    a = optim.Adam()
    assert (a.learning_rate, a.beta_1, a.beta_2, a.epsilon, a.amsgrad) == (0.001, 0.9, 0.999, 1e-7, False)
    assert optim.AdamW().weight_decay == 0.004
    r = optim.RMSprop()
    assert (r.learning_rate, r.rho, r.momentum, r.epsilon, r.centered) == (0.001, 0.9, 0.0, 1e-7, False)
    g = optim.Adagrad()
    assert (g.learning_rate, g.initial_accumulator_value, g.epsilon) == (0.001, 0.1, 1e-7)


def test_string_aliases_and_errors():
    for name, cls in [("sgd", optim.SGD), ("adam", optim.Adam), ("AdamW", optim.AdamW),
                      ("rmsprop", optim.RMSprop), ("adagrad", optim.Adagrad)]:
        assert type(optim.get(name)) is cls
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'.*adam"):
        optim.get("adamm")
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(RuntimeError, match="no parameters"):
        optim.Adam().step()
    with pytest.raises(ValueError, match="does not require grad"):
        optim.SGD([tl.Tensor([1.0])])


def test_first_positional_argument_may_be_lr_or_params():
    w = tl.Tensor([1.0], requires_grad=True)
    assert optim.SGD(0.5).learning_rate == 0.5 and not optim.SGD(0.5).params
    o = optim.SGD([w], lr=0.5)
    assert o.learning_rate == 0.5 and o.params == [w]


def test_exponential_decay_schedule_with_sgd():
    sched = optim.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    assert sched(0) == 0.1 and sched(4) == pytest.approx(0.05) and sched(2) == pytest.approx(0.1 * 0.5 ** 0.5)
    stair = optim.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    assert stair(3) == 0.1 and stair(4) == pytest.approx(0.05)
    w = tl.Tensor(W0.copy(), requires_grad=True)
    opt = optim.SGD([w], learning_rate=sched)
    rw = W0.copy()
    for t in range(20):
        opt.zero_grad()
        quad_loss(w).backward()
        opt.step()
        rw = rw - 0.1 * 0.5 ** (t / 4) * (A @ (rw - C))  # the schedule sees step 0 first, as in Keras
    np.testing.assert_allclose(w.data, rw, atol=1e-12)


def test_callable_schedule_with_adam():
    lr_of = lambda step: 0.05 / (1 + step)
    init, step = ref_adam()
    w = tl.Tensor(W0.copy(), requires_grad=True)
    opt = optim.Adam([w], learning_rate=lr_of)
    rw, rs = W0.copy(), init(W0)
    for t in range(1, 31):
        opt.zero_grad()
        quad_loss(w).backward()
        opt.step()
        rw = step(rw, A @ (rw - C), rs, t, lr_of(t - 1))
    np.testing.assert_allclose(w.data, rw, atol=1e-10)


def test_bad_learning_rates_are_errors_before_touching_the_weights():
    for bad in (float("nan"), float("inf"), -0.1):
        with pytest.raises(ValueError, match="SGD: learning_rate must be a finite number >= 0"):
            optim.SGD(learning_rate=bad)
    for schedule, err, match in [(lambda s: float("nan"), ValueError, "schedule gave nan at step 0"),
                                 (lambda s: -1.0, ValueError, "schedule gave -1.0 at step 0"),
                                 (lambda s: "fast", TypeError, "schedule must return a number")]:
        w = tl.Tensor(W0.copy(), requires_grad=True)
        opt = optim.Adam([w], learning_rate=schedule)
        quad_loss(w).backward()
        with pytest.raises(err, match=f"Adam: the learning-rate {match}"):
            opt.step()
        np.testing.assert_array_equal(w.data, W0)  # before: NaN weights, or a silent step uphill
        assert opt.iterations == 0


def test_step_is_not_recorded_and_skips_params_without_grad():
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    b = tl.Tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], learning_rate=0.1)
    data_before = a.data
    (a * a).sum().backward()
    opt.step()
    assert a.data is data_before  # in place
    np.testing.assert_allclose(a.data, [0.8, 1.6])
    np.testing.assert_allclose(b.data, [3.0])  # no grad: untouched
    assert a.is_leaf and a.op is None and a.grad is not None
    opt.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("make", [lambda p: optim.Adam(p, learning_rate=0.05, amsgrad=True),
                                  lambda p: optim.SGD(p, learning_rate=0.05, momentum=0.9),
                                  lambda p: optim.RMSprop(p, learning_rate=0.01, momentum=0.5, centered=True),
                                  lambda p: optim.Adagrad(p, learning_rate=0.1)])
def test_state_dict_resumes_exactly(make):
    def run(w, opt, n):
        out = []
        for _ in range(n):
            opt.zero_grad()
            loss = quad_loss(w)
            loss.backward()
            opt.step()
            out.append(loss.item())
        return out

    w = tl.Tensor(W0.copy(), requires_grad=True)
    opt = make([w])
    straight = run(w, opt, 20)

    w1 = tl.Tensor(W0.copy(), requires_grad=True)
    opt1 = make([w1])
    first = run(w1, opt1, 10)
    saved_w, saved_opt = w1.data.copy(), opt1.state_dict()
    run(w1, opt1, 3)  # moving on must not change what was saved
    w2 = tl.Tensor(saved_w, requires_grad=True)
    opt2 = make([w2])
    opt2.load_state_dict(saved_opt)
    assert opt2.iterations == 10
    resumed = first + run(w2, opt2, 10)
    assert resumed == straight  # bit-identical
    with pytest.raises(ValueError, match="load_state_dict"):
        optim.SGD([w2, tl.Tensor([1.0], requires_grad=True)]).load_state_dict(saved_opt)


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, learning_rate=0.1), lambda p: optim.Adam(p, 0.1),
                                  lambda p: optim.AdamW(p, 0.1), lambda p: optim.RMSprop(p, 0.05),
                                  lambda p: optim.Adagrad(p, 0.5)])
def test_each_optimizer_decreases_a_convex_loss(make):
    w = tl.Tensor(W0.copy(), requires_grad=True)
    opt = make([w])
    first = None
    for _ in range(200):
        opt.zero_grad()
        loss = quad_loss(w)
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert quad_loss(w).item() < 0.05 * first
