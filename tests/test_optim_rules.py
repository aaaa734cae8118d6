"""Optimizer update rules under non-default hyper-parameters, and the edges of their arguments.

Written to kill the mutants mutmut left alive in tinygrad_loss/optim.py (issue 19): every update
rule is replayed here in NumPy from Keras's published formulas, with hyper-parameters chosen so
that each term matters (an epsilon as large as the accumulator, gradients that shrink so AMSGrad's
running maximum differs from the plain second moment, centred RMSprop, momentum, weight decay).
"""
import math
import os
import warnings

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import optim

W0 = np.array([0.5, -1.0, 2.0])
GRADS = [np.array([1.0, -2.0, 0.5]), np.array([0.25, 1.0, -0.5]), np.array([0.1, -0.05, 0.2]),
         np.array([-0.3, 0.02, 0.0])]  # shrinking: AMSGrad's max(v̂, v) keeps the early, larger v


def run(opt, grads=GRADS, w0=W0):
    w = tl.Tensor(w0.copy(), requires_grad=True)
    opt.add_params([w])
    out = []
    for g in grads:
        w.grad = tl.Tensor(g.copy())
        opt.step()
        out.append(w.data.copy())
    return np.array(out)


def ref_sgd(lr, momentum=0.0, nesterov=False, wd=None):
    w, v, out = W0.copy(), np.zeros(3), []
    for g in GRADS:
        if wd:
            w = w - w * wd * lr
        if momentum:
            v = momentum * v - lr * g
            w = w + (momentum * v - lr * g if nesterov else v)
        else:
            w = w - lr * g
        out.append(w)
    return np.array(out)


def ref_adam(lr, b1, b2, eps, amsgrad=False, wd=None):
    w, m, v, vmax, out = W0.copy(), np.zeros(3), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        if wd:
            w = w - w * wd * lr
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - alpha * m / (np.sqrt(vmax if amsgrad else v) + eps)
        out.append(w)
    return np.array(out)


def ref_rmsprop(lr, rho, momentum, eps, centered):
    w, v, mg, mom, out = W0.copy(), np.zeros(3), np.zeros(3), np.zeros(3), []
    for g in GRADS:
        v = rho * v + (1 - rho) * g ** 2
        mg = rho * mg + (1 - rho) * g
        step = lr * g / np.sqrt((v - mg ** 2 if centered else v) + eps)
        mom = momentum * mom + step
        w = w - (mom if momentum else step)
        out.append(w)
    return np.array(out)


def ref_adagrad(lr, init, eps):
    w, acc, out = W0.copy(), np.full(3, init), []
    for g in GRADS:
        acc = acc + g ** 2
        w = w - lr * g / np.sqrt(acc + eps)
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("make, ref", [
    (lambda: optim.SGD(learning_rate=0.1), lambda: ref_sgd(0.1)),
    (lambda: optim.SGD(learning_rate=0.1, momentum=0.9), lambda: ref_sgd(0.1, 0.9)),
    (lambda: optim.SGD(learning_rate=0.1, momentum=0.5, nesterov=True), lambda: ref_sgd(0.1, 0.5, True)),
    (lambda: optim.SGD(learning_rate=0.1, momentum=0.5, weight_decay=0.2), lambda: ref_sgd(0.1, 0.5, wd=0.2)),
    (lambda: optim.Adam(learning_rate=0.1, beta_1=0.8, beta_2=0.9, epsilon=0.5), lambda: ref_adam(0.1, 0.8, 0.9, 0.5)),
    (lambda: optim.Adam(learning_rate=0.1, beta_1=0.5, beta_2=0.6, epsilon=1e-3, amsgrad=True),
     lambda: ref_adam(0.1, 0.5, 0.6, 1e-3, amsgrad=True)),
    (lambda: optim.AdamW(learning_rate=0.1, weight_decay=0.3, beta_1=0.7, beta_2=0.8, epsilon=0.1),
     lambda: ref_adam(0.1, 0.7, 0.8, 0.1, wd=0.3)),
    (lambda: optim.RMSprop(learning_rate=0.1, rho=0.6, epsilon=0.5), lambda: ref_rmsprop(0.1, 0.6, 0.0, 0.5, False)),
    (lambda: optim.RMSprop(learning_rate=0.1, rho=0.6, momentum=0.5, epsilon=1e-3, centered=True),
     lambda: ref_rmsprop(0.1, 0.6, 0.5, 1e-3, True)),
    (lambda: optim.Adagrad(learning_rate=0.1, initial_accumulator_value=0.2, epsilon=0.5),
     lambda: ref_adagrad(0.1, 0.2, 0.5)),
])
def test_update_rules_match_keras_formulas(make, ref):
    np.testing.assert_allclose(run(make()), ref(), rtol=1e-12, atol=1e-15)


def test_adam_amsgrad_differs_from_adam_on_shrinking_gradients():
    """Guards the test above: on these gradients AMSGrad and Adam take different paths."""
    assert not np.allclose(ref_adam(0.1, 0.5, 0.6, 1e-3, amsgrad=True), ref_adam(0.1, 0.5, 0.6, 1e-3))


@pytest.mark.parametrize("kind, c", [("clipnorm", 0.5), ("global_clipnorm", 0.5), ("clipvalue", 0.3)])
def test_gradient_clipping_before_the_update(kind, c):
    a0, b0 = np.array([3.0, 4.0]), np.array([0.1, -0.2])
    ga, gb = np.array([3.0, -4.0]), np.array([0.1, 0.2])  # norms 5 and ~0.224 (under c)
    a, b = tl.Tensor(a0.copy(), requires_grad=True), tl.Tensor(b0.copy(), requires_grad=True)
    opt = optim.SGD([a, b], learning_rate=1.0, **{kind: c})
    a.grad, b.grad = tl.Tensor(ga), tl.Tensor(gb)
    opt.step()
    if kind == "clipnorm":  # each gradient on its own: g · c / max(‖g‖, c)
        ca = ga * c / max(np.linalg.norm(ga), c)
        cb = gb * c / max(np.linalg.norm(gb), c)
    elif kind == "global_clipnorm":  # all together
        n = np.sqrt(np.sum(ga ** 2) + np.sum(gb ** 2))
        ca, cb = ga * c / max(n, c), gb * c / max(n, c)
    else:
        ca, cb = np.clip(ga, -c, c), np.clip(gb, -c, c)
    np.testing.assert_allclose(a.data, a0 - ca, rtol=1e-12)
    np.testing.assert_allclose(b.data, b0 - cb, rtol=1e-12)
    np.testing.assert_array_equal(a.grad.data, ga)  # the stored gradients are not clipped in place
    assert getattr(opt, kind) == c and opt.get_config()[kind] == c


def test_clipping_arguments_reach_a_user_subclass():
    class Halving(optim.SGD):
        def __init__(self, params=None, **kwargs):
            super().__init__(params, learning_rate=0.5, **kwargs)

    w = tl.Tensor(np.array([0.0, 0.0]), requires_grad=True)
    opt = Halving([w], clipvalue=0.1)
    w.grad = tl.Tensor(np.array([1.0, -0.05]))
    opt.step()
    np.testing.assert_allclose(w.data, [-0.05, 0.025])
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        Halving([w], clipvalue=0.1, clipnorm=1.0)


CONFIG_KEYS = {
    optim.SGD: {"momentum", "nesterov"},
    optim.Adam: {"beta_1", "beta_2", "epsilon", "amsgrad"},
    optim.AdamW: {"beta_1", "beta_2", "epsilon", "amsgrad"},
    optim.RMSprop: {"rho", "momentum", "epsilon", "centered"},
    optim.Adagrad: {"initial_accumulator_value", "epsilon"},
}
BASE_KEYS = {"learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue"}


@pytest.mark.parametrize("cls", sorted(CONFIG_KEYS, key=lambda c: c.__name__))
def test_get_config_names_every_constructor_argument_and_round_trips(cls):
    opt = cls(learning_rate=0.25, clipnorm=2.0)
    config = opt.get_config()
    assert set(config) == BASE_KEYS | CONFIG_KEYS[cls]
    assert config["learning_rate"] == 0.25 and config["clipnorm"] == 2.0
    clone = cls(**config)
    assert clone.get_config() == config
    assert repr(opt) == f"{cls.__name__}(" + ", ".join(f"{k}={v!r}" for k, v in config.items()) + ")"


@pytest.mark.parametrize("cls", sorted(CONFIG_KEYS, key=lambda c: c.__name__))
def test_names_learning_rate_spellings_and_weight_decay_are_passed_on(cls):
    assert cls().name == cls.__name__.lower()
    assert cls(name="mine").name == "mine"
    assert cls(lr=0.125).learning_rate == 0.125            # PyTorch's spelling
    assert cls(0.375).learning_rate == 0.375               # Keras's positional learning rate
    assert cls(weight_decay=0.5).weight_decay == 0.5


def test_adam_state_slots_follow_amsgrad():
    w = tl.Tensor(np.zeros(2), requires_grad=True)
    assert set(optim.Adam([w]).state_dict()["state"][0]) == {"momentum", "velocity"}
    assert set(optim.Adam([w], amsgrad=True).state_dict()["state"][0]) == {"momentum", "velocity", "velocity_hat"}
    assert set(optim.RMSprop([w]).state_dict()["state"][0]) == {"velocity"}
    assert set(optim.RMSprop([w], momentum=0.5, centered=True).state_dict()["state"][0]) == \
        {"velocity", "momentum", "average_gradient"}
    assert set(optim.SGD([w]).state_dict()["state"][0]) == set()
    np.testing.assert_array_equal(optim.Adagrad([w], initial_accumulator_value=0.25).state[0]["accumulator"],
                                  [0.25, 0.25])


@pytest.mark.parametrize("make", [
    lambda: optim.Adam(beta_1=0.0), lambda: optim.Adam(beta_2=0.0), lambda: optim.Adam(epsilon=0.0),
    lambda: optim.RMSprop(rho=0.0), lambda: optim.RMSprop(epsilon=0.0), lambda: optim.SGD(momentum=1.0),
    lambda: optim.SGD(momentum=0.0), lambda: optim.Adagrad(initial_accumulator_value=0.0),
    lambda: optim.Adagrad(epsilon=0.0), lambda: optim.ExponentialDecay(0.1, 1, 0.5),
    lambda: optim.SGD(learning_rate=0.0),
])
def test_boundary_values_that_are_allowed(make):
    make()


@pytest.mark.parametrize("make, name", [
    (lambda: optim.Adam(beta_1=1.0), "beta_1"), (lambda: optim.Adam(beta_2=1.0), "beta_2"),
    (lambda: optim.Adam(beta_1=-0.1), "beta_1"), (lambda: optim.Adam(epsilon=-1e-9), "epsilon"),
    (lambda: optim.RMSprop(rho=1.0), "rho"), (lambda: optim.SGD(momentum=1.5), "momentum"),
    (lambda: optim.Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (lambda: optim.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: optim.ExponentialDecay(0.1, 10, 0.0), "decay_rate"),
    (lambda: optim.AdamW(weight_decay=None), "weight_decay"),
    (lambda: optim.SGD(learning_rate=-0.1), "learning_rate"),
    (lambda: optim.SGD(clipnorm=0.0), "clipnorm"),
])
def test_boundary_values_that_are_refused_name_the_argument(make, name):
    with pytest.raises((ValueError, TypeError), match=name):
        make()


def test_exponential_decay_values():
    smooth = optim.ExponentialDecay(0.5, 4, 0.25)
    stairs = optim.ExponentialDecay(0.5, 4, 0.25, staircase=True)
    for step in (0, 1, 4, 6, 8):
        assert math.isclose(smooth(step), 0.5 * 0.25 ** (step / 4), rel_tol=1e-12)
        assert math.isclose(stairs(step), 0.5 * 0.25 ** (step // 4), rel_tol=1e-12)
    with pytest.raises(ValueError, match=r"^ExponentialDecay: step must be a finite number >= 0, got -1$"):
        smooth(-1)


def test_optimizers_get():
    assert isinstance(optim.get("ADAM"), optim.Adam) and isinstance(optim.get("adamw"), optim.AdamW)
    assert isinstance(optim.get(optim.RMSprop), optim.RMSprop)
    opt = optim.SGD()
    assert optim.get(opt) is opt
    with pytest.raises(ValueError, match="valid names are: adagrad, adam, adamw, rmsprop, sgd"):
        optim.get("nope")
    for bad in (42, tl.Tensor([1.0]), int):
        with pytest.raises(TypeError, match="optimizers.get: expected an optimizer name or an Optimizer"):
            optim.get(bad)


def test_apply_gradients_checks_shapes_and_warns_at_the_callers_line():
    a = tl.Tensor(np.zeros(2), requires_grad=True, name="a")
    b = tl.Tensor(np.zeros(3), requires_grad=True, name="b")
    opt = optim.SGD(learning_rate=1.0)
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\) for variable a of shape \(2,\)"):
        opt.apply_gradients([(tl.Tensor(np.ones(3)), a)])
    with pytest.raises(ValueError, match=r"^SGD.apply_gradients: no gradients provided for any variable \(every "
                                         r"gradient is None: does the loss depend on the variables\? was it computed "
                                         r"inside the GradientTape\?\)$"):
        opt.apply_gradients([(None, a)])
    with pytest.raises(ValueError, match=r"^SGD.apply_gradients: gradient of shape \(1,\) for variable of shape \(3,\)$"):
        opt.apply_gradients([(np.ones(1), tl.Tensor(np.zeros(3), requires_grad=True))])
    assert opt.params == [] and opt.iterations == 0  # refused calls changed nothing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt.apply_gradients([(tl.Tensor(np.ones(2)), a), (None, b)])
    assert len(caught) == 1 and "['b']" in str(caught[0].message)
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampoline adds a frame between us and optim.py
        assert caught[0].filename == __file__  # stacklevel points at this call, not into optim.py
    np.testing.assert_array_equal(a.data, [-1.0, -1.0])
    np.testing.assert_array_equal(b.data, [0.0, 0.0, 0.0])


def test_load_state_dict_restores_and_refuses_with_clear_messages():
    w = tl.Tensor(W0.copy(), requires_grad=True)
    opt = optim.Adam([w], learning_rate=0.1)
    w.grad = tl.Tensor(GRADS[0])
    opt.step()
    saved = opt.state_dict()
    fresh = optim.Adam([tl.Tensor(W0.copy(), requires_grad=True)], learning_rate=0.5)
    fresh.load_state_dict(saved)
    assert fresh.iterations == 1 and fresh.learning_rate == 0.1
    np.testing.assert_array_equal(fresh.state[0]["momentum"], opt.state[0]["momentum"])
    bad_shape = {**saved, "state": [{"momentum": np.zeros(2), "velocity": np.zeros(3)}]}
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state 'momentum' of parameter 0 has shape \(2,\)"):
        fresh.load_state_dict(bad_shape)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: parameter 0 has state .*expected the arrays"):
        fresh.load_state_dict({**saved, "state": [{"momentum": np.zeros(3)}]})
    with pytest.raises(ValueError, match="the state has 2 parameters, this optimizer has 1"):
        fresh.load_state_dict({**saved, "state": saved["state"] * 2})
    assert fresh.iterations == 1  # nothing changed by the refused loads


@pytest.mark.parametrize("cls, defaults", [
    (optim.SGD, {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}),
    (optim.Adam, {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}),
    (optim.AdamW, {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    (optim.RMSprop, {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}),
    (optim.Adagrad, {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}),
])
def test_defaults_are_keras_defaults(cls, defaults):
    """The defaults published in Keras's optimizer docs. Mutants: a default constant changed."""
    config = cls().get_config()
    assert {k: config[k] for k in defaults} == defaults
    assert config["clipnorm"] is None and config["clipvalue"] is None and config["global_clipnorm"] is None


@pytest.mark.parametrize("args, match", [
    ((0.1, 0, 0.5), r"^ExponentialDecay: decay_steps"), ((0.1, 10, 0.0), r"^ExponentialDecay: decay_rate"),
    ((0.1, 10, 0.5, "yes"), r"^ExponentialDecay: staircase"), ((-0.1, 10, 0.5), r"^ExponentialDecay: initial_learning_rate"),
])
def test_exponential_decay_errors_name_the_schedule_and_argument(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        optim.ExponentialDecay(*args)


def _adam_state(dtype=np.float64):
    w = tl.Tensor(np.zeros(2, dtype=dtype), requires_grad=True)
    return optim.Adam([w]), {"iterations": 3, "state": [{"momentum": np.array([0.5, -0.5]),
                                                         "velocity": np.array([0.0, 0.25])}]}


def test_load_state_dict_checks_every_state_array():
    """Mutants in ``_checked_state``: messages, the bool/finite/non-negative checks, the dtype of the copies."""
    opt, good = _adam_state(np.float32)
    opt.load_state_dict(good)                       # a zero velocity is a valid running mean of squares
    assert opt.state[0]["momentum"].dtype == np.float32 and opt.iterations == 3
    np.testing.assert_array_equal(opt.state[0]["velocity"], [0.0, 0.25])
    cases = [
        (5, TypeError, r"^Adam.load_state_dict: state must be a list with one dict per parameter, got 5$"),
        ([{"momentum": np.array([True, False]), "velocity": np.zeros(2)}], (TypeError, ValueError),
         r"^Adam.load_state_dict: state 'momentum' of parameter 0"),
        ([{"momentum": np.array([np.nan, 0.0]), "velocity": np.zeros(2)}], ValueError,
         r"^Adam.load_state_dict: state 'momentum' of parameter 0 contains a non-finite value"),
        ([{"momentum": np.zeros(2), "velocity": np.array([0.0, -1.0])}], ValueError,
         r"^Adam.load_state_dict: state 'velocity' of parameter 0 must be >= 0 \(a running mean of squares\)$"),
        ([{"momentum": np.zeros(2)}], ValueError,
         r"^Adam.load_state_dict: parameter 0 has state \{'momentum': .*\}, expected the arrays \['momentum', 'velocity'\]"),
    ]
    for state, err, match in cases:
        opt, good = _adam_state()
        with pytest.raises(err, match=match):
            opt.load_state_dict({**good, "state": state})
        assert opt.iterations == 0  # refused: nothing changed


def test_add_params_takes_a_single_tensor_and_steps_it():
    """Kills optim.Optimizer.add_params__mutmut_1 (a single Tensor no longer wrapped in a list)."""
    w = tl.Tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD(learning_rate=0.5)
    opt.add_params(w)
    assert len(opt.params) == 1 and opt.params[0] is w
    w.grad = tl.Tensor([1.0, -2.0])
    opt.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.5 * 1.0, 2.0 + 0.5 * 2.0])


def test_a_schedule_giving_several_values_is_refused_before_the_step():
    """Kills optim.Optimizer.current_learning_rate__mutmut_10 (`and` -> `or`: a 2-element array reached
    reshape(()) and NumPy's ValueError escaped instead of the optimizer's TypeError); the weights stay."""
    w = tl.Tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD(learning_rate=lambda step: np.array([0.1, 0.2]))
    opt.add_params(w)
    w.grad = tl.Tensor([1.0, 1.0])
    with pytest.raises(TypeError, match=r"SGD: the learning-rate schedule must return a number"):
        opt.step()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_a_schedule_giving_a_one_element_array_or_tensor_is_its_number():
    """A 1-element array or Tensor from a schedule is read as its number (Keras schedules return tensors)."""
    for value in (np.array([0.5]), tl.Tensor([[0.5]])):
        w = tl.Tensor([1.0], requires_grad=True)
        opt = optim.SGD(learning_rate=lambda step, v=value: v)
        opt.add_params(w)
        assert opt.current_learning_rate() == 0.5
        w.grad = tl.Tensor([2.0])
        opt.step()
        np.testing.assert_allclose(w.data, [1.0 - 0.5 * 2.0])


def test_step_without_parameters_is_refused():
    """Kills optim.Optimizer.step__mutmut_1 (the no-parameter check inverted)."""
    with pytest.raises(RuntimeError, match=r"SGD.step: the optimizer has no parameters"):
        optim.SGD(learning_rate=0.1).step()


def test_every_step_counts_as_a_new_change_of_the_parameter():
    """Kills optim.Optimizer._apply__mutmut_38 (`_version = 1` instead of `+= 1`): a graph built after the
    first step saw version 1; the second step must make backward through it fail, not look unchanged."""
    w = tl.Tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD(learning_rate=0.1)
    opt.add_params(w)
    w.grad = tl.Tensor([1.0, 1.0])
    opt.step()
    y = (w * w).sum()  # uses w after the first step
    w.grad = tl.Tensor([1.0, 1.0])
    opt.step()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_load_state_dict_refuses_a_state_with_keys_missing_only():
    """Kills optim.Optimizer.load_state_dict__mutmut_21 (`missing or unknown` -> `and`: a dict lacking
    'state' but with no unknown key was accepted); the optimizer keeps its iteration count."""
    opt = optim.SGD([tl.Tensor([1.0], requires_grad=True)], learning_rate=0.1)
    with pytest.raises(ValueError, match=r"missing \['state'\], unexpected none"):
        opt.load_state_dict({"iterations": 7})
    assert opt.iterations == 0
