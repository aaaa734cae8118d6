"""Hostile inputs (issue 14): every public entry point refuses bad arguments cleanly.

For every public function and method the docs list, hypothesis draws values of the wrong kind
for one argument (None, strings, ragged nested lists, object/complex/bool arrays, NaN/inf,
huge, negative and float sizes, empty arrays...) and the test asserts that the call

* raises TypeError, ValueError, IndexError or an OSError (nothing else: no AttributeError,
  no zipfile.BadZipFile, no NumPy internals),
* with a message naming the public function or the argument,
* raised from the project's own code (the traceback's last frame is in ``tinygrad_loss/``),
* and leaves every model and optimizer it was given byte-for-byte as it was.

The examples are random; tests/conftest.py fixes one seed per run and prints it on failure.
"""
from __future__ import annotations

import math
import os
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_loss as tl
from tinygrad_loss import callbacks, optim
from tinygrad_loss.nn import Dense, Sequential

PACKAGE_DIR = os.path.dirname(os.path.abspath(tl.__file__)) + os.sep
ALLOWED = (TypeError, ValueError, IndexError, OSError)
EXAMPLES = 8  # per target; the number of targets times this is the number of hostile calls

# --- hostile values, by what they are not --------------------------------------------------
NONE = st.none()
STRINGS = st.sampled_from(["", "ab", "1.5", "2", "nan", "float32"]) | st.text(max_size=4)
BYTES = st.just(b"ab")
RAGGED = st.tuples(st.integers(0, 3), st.integers(0, 3)).filter(lambda nm: nm[0] != nm[1]).map(
    lambda nm: [[1.0] * nm[0], [2.0] * nm[1]])
OBJECT_ARRAYS = st.lists(st.floats(-5, 5), max_size=3).map(lambda xs: np.array(xs + [None], dtype=object))
COMPLEX_SCALARS = st.complex_numbers(max_magnitude=10, allow_nan=False, allow_infinity=False).filter(
    lambda z: z.imag != 0)
COMPLEX_ARRAYS = hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=3),
                            elements=st.floats(-3, 3)).map(lambda a: a + 1j)
BOOL_ARRAYS = hnp.arrays(np.bool_, hnp.array_shapes(max_dims=2, max_side=3))
BOOLS = st.booleans() | st.just(np.bool_(True))
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan"), np.float64("-inf")])
HUGE = st.integers(2 ** 62, 10 ** 30)
NEGATIVE_INTS = st.integers(-10 ** 6, -2)
NEGATIVE_FLOATS = st.floats(-1e30, -1e-6)
FLOAT_SIZES = st.floats(0.1, 1e6).filter(lambda x: not x.is_integer())
WHOLE_FLOATS = st.sampled_from([2.0, 0.0, 1.0])
EMPTY_ARRAYS = st.sampled_from([np.array([]), np.zeros((0, 3))])
OTHER = st.sampled_from([object(), {}, {"a": 1}, {1, 2}, np.datetime64("2020-01-01")])
NUMBER_ARRAYS = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3), elements=st.floats(-3, 3))

not_an_array = NONE | STRINGS | BYTES | RAGGED | OBJECT_ARRAYS | COMPLEX_SCALARS | COMPLEX_ARRAYS | OTHER
not_a_number = not_an_array | NON_FINITE | BOOLS | BOOL_ARRAYS | EMPTY_ARRAYS | NUMBER_ARRAYS
not_non_negative = not_a_number | NEGATIVE_FLOATS | NEGATIVE_INTS
not_in_unit_open = not_non_negative | st.floats(1.0, 1e30) | HUGE       # [0, 1)
not_in_unit_closed = not_non_negative | st.floats(1.0, 1e30).filter(lambda x: x > 1) | HUGE
not_positive = not_non_negative | st.just(0) | st.just(0.0)
not_a_bool = NONE | STRINGS | st.integers(-2, 2) | st.floats() | COMPLEX_SCALARS | NUMBER_ARRAYS | OTHER
not_a_count = (NONE | STRINGS | FLOAT_SIZES | WHOLE_FLOATS | NON_FINITE | NEGATIVE_INTS | BOOLS | COMPLEX_SCALARS
               | NUMBER_ARRAYS | RAGGED | OTHER)
not_a_string = NONE | st.integers() | st.floats() | BOOLS | COMPLEX_SCALARS | NUMBER_ARRAYS | RAGGED | OTHER
not_a_path = NONE | st.integers() | st.floats() | BOOLS | NUMBER_ARRAYS | RAGGED | OTHER | st.just("")
not_a_mapping = NONE | STRINGS | st.integers() | RAGGED | NUMBER_ARRAYS | st.just([1, 2]) | st.just({1, 2})
not_real_numbers = not_an_array | BOOL_ARRAYS


# --- what must not change -----------------------------------------------------------------
def snapshot(obj: Any, seen: Optional[set] = None) -> Any:
    """Everything reachable from ``obj`` (attributes, containers, Tensors, arrays as bytes)."""
    seen = set() if seen is None else seen
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, obj.tobytes())
    if obj is None or isinstance(obj, (bool, int, float, str, bytes, np.generic)):
        return obj
    if id(obj) in seen:
        return ("seen", id(obj))
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [snapshot(v, seen) for v in obj])
    if isinstance(obj, dict):
        return ("dict", [(snapshot(k, seen), snapshot(v, seen)) for k, v in obj.items()])
    if isinstance(obj, tl.Tensor):
        return ("Tensor", snapshot(obj.data, seen), obj.requires_grad, obj.name, snapshot(obj.grad, seen))
    if isinstance(obj, (tl.nn.Module, optim.Optimizer, callbacks.Callback)):  # (no temporary in `seen`)
        return (type(obj).__name__, [(k, snapshot(v, seen)) for k, v in vars(obj).items()])
    return ("object", id(obj))  # functions, schedules: identity is enough


# --- targets: one public entry point, one argument ------------------------------------------
@dataclass
class Target:
    name: str                                    # test id
    values: st.SearchStrategy                    # hostile values for the argument
    call: Callable[[Any, Any], Any]              # call(context, value)
    names: Tuple[str, ...]                       # the message must contain one of these
    setup: Callable[[Any], Any] = lambda tmp: None   # a fresh context (model, optimizer...) per example
    state: Callable[[Any], Any] = lambda ctx: ctx    # what must be unchanged after the failed call


TARGETS: List[Target] = []


def target(name: str, values: st.SearchStrategy, call: Callable, names: Tuple[str, ...], **kw: Any) -> None:
    TARGETS.append(Target(name, values, call, names, **kw))


def _model() -> Sequential:
    tl.nn.clear_session()
    tl.manual_seed(3)
    return Sequential([Dense(3, activation="relu", input_shape=(2,)), Dense(1)])


def _trained(opt_cls: type, **kw: Any) -> Dict[str, Any]:
    """A model and an optimizer that has taken one step (so its state is not all zeros)."""
    model = _model()
    opt = opt_cls(model.parameters(), **kw)
    model(np.ones((4, 2))).sum().backward()
    opt.step()
    return {"model": model, "opt": opt, "sd": opt.state_dict()}


# optimizers: every hyper-parameter, at construction and through load_state_dict
HYPER = {
    optim.SGD: {"learning_rate": not_non_negative, "momentum": not_in_unit_closed, "nesterov": not_a_bool,
                "weight_decay": not_non_negative.filter(lambda v: v is not None)},
    optim.Adam: {"learning_rate": not_non_negative, "beta_1": not_in_unit_open, "beta_2": not_in_unit_open,
                 "epsilon": not_non_negative, "amsgrad": not_a_bool,
                 "weight_decay": not_non_negative.filter(lambda v: v is not None)},
    optim.AdamW: {"weight_decay": not_non_negative, "epsilon": not_non_negative, "beta_1": not_in_unit_open},
    optim.RMSprop: {"learning_rate": not_non_negative, "rho": not_in_unit_open, "momentum": not_non_negative,
                    "epsilon": not_non_negative, "centered": not_a_bool},
    optim.Adagrad: {"learning_rate": not_non_negative, "initial_accumulator_value": not_non_negative,
                    "epsilon": not_non_negative},
}
for cls, params in HYPER.items():
    for arg, bad in params.items():
        lr_ok = bad.filter(lambda v: not callable(v)) if arg == "learning_rate" else bad
        target(f"{cls.__name__}({arg}=...)", lr_ok, lambda ctx, v, c=cls, a=arg: c(**{a: v}), (cls.__name__, arg))
        target(f"{cls.__name__}.load_state_dict(config={{{arg!r}: ...}})", lr_ok,
               lambda ctx, v, a=arg: ctx["opt"].load_state_dict({**ctx["sd"], "config": {a: v}}),
               ("load_state_dict", arg), setup=lambda tmp, c=cls: _trained(c), state=lambda ctx: ctx)
    target(f"{cls.__name__}.load_state_dict(iterations=...)", not_a_count,
           lambda ctx, v: ctx["opt"].load_state_dict({**ctx["sd"], "iterations": v}),
           ("load_state_dict", "iterations"), setup=lambda tmp, c=cls: _trained(c))
    target(f"{cls.__name__}.load_state_dict(state arrays)", not_real_numbers | NON_FINITE,
           lambda ctx, v: ctx["opt"].load_state_dict(
               {**ctx["sd"], "state": [{**ctx["sd"]["state"][0], next(iter(ctx["sd"]["state"][0] or {"x": 0})): v}]
                + ctx["sd"]["state"][1:]}),
           ("load_state_dict",), setup=lambda tmp, c=cls: _trained(c, **({"momentum": 0.5} if c is optim.SGD else {})))
    target(f"{cls.__name__}.load_state_dict(...)", not_a_mapping, lambda ctx, v: ctx["opt"].load_state_dict(v),
           ("load_state_dict",), setup=lambda tmp, c=cls: _trained(c))
    target(f"{cls.__name__}.load_state_dict(config=...)", not_a_mapping.filter(lambda v: v is not None),
           lambda ctx, v: ctx["opt"].load_state_dict({**ctx["sd"], "config": v}), ("load_state_dict", "config"),
           setup=lambda tmp, c=cls: _trained(c))

target("ExponentialDecay(initial_learning_rate=...)", not_non_negative,
       lambda ctx, v: optim.ExponentialDecay(v, 10, 0.5), ("ExponentialDecay", "initial_learning_rate"))
target("ExponentialDecay(decay_steps=...)", not_positive, lambda ctx, v: optim.ExponentialDecay(0.1, v, 0.5),
       ("ExponentialDecay", "decay_steps"))
target("ExponentialDecay(decay_rate=...)", not_positive, lambda ctx, v: optim.ExponentialDecay(0.1, 10, v),
       ("ExponentialDecay", "decay_rate"))
target("ExponentialDecay(staircase=...)", not_a_bool, lambda ctx, v: optim.ExponentialDecay(0.1, 10, 0.5, v),
       ("ExponentialDecay", "staircase"))
target("optimizers.get(...)", not_a_string.filter(lambda v: v is not None), lambda ctx, v: optim.get(v),
       ("optimizers.get",))

# callbacks
ES = {"monitor": not_a_string, "min_delta": not_a_number, "patience": not_a_count, "verbose": not_a_count,
      "mode": not_a_string | STRINGS.filter(lambda s: s not in ("auto", "min", "max")),
      "baseline": not_a_number.filter(lambda v: v is not None), "restore_best_weights": not_a_bool,
      "start_from_epoch": not_a_count}
for arg, bad in ES.items():
    target(f"EarlyStopping({arg}=...)", bad, lambda ctx, v, a=arg: callbacks.EarlyStopping(**{a: v}),
           ("EarlyStopping", arg))
MC = {"monitor": not_a_string, "verbose": not_a_count, "save_best_only": not_a_bool, "save_weights_only": not_a_bool,
      "mode": not_a_string | STRINGS.filter(lambda s: s not in ("auto", "min", "max"))}
for arg, bad in MC.items():
    target(f"ModelCheckpoint({arg}=...)", bad, lambda ctx, v, a=arg: callbacks.ModelCheckpoint("w.npz", **{a: v}),
           ("ModelCheckpoint", arg))
target("ModelCheckpoint(filepath=...)", not_a_path | STRINGS.map(lambda s: s + ".txt") | st.just("{epoch.npz"),
       lambda ctx, v: callbacks.ModelCheckpoint(v), ("ModelCheckpoint", "filepath"))


# models: set_weights / load_state_dict / load_weights are all or nothing
def _one_bad_weight(ctx: Sequential, v: Any, index: int) -> List[Any]:
    weights = ctx.get_weights()
    weights[index % len(weights)] = v
    return weights


WRONG_SHAPES = hnp.arrays(np.float64, st.sampled_from([(), (5,), (4, 4), (2, 3, 1)]), elements=st.floats(-3, 3))
WEIGHT = not_real_numbers | NON_FINITE.map(lambda x: np.full((2, 3), x)) | EMPTY_ARRAYS | WRONG_SHAPES
for i in range(4):  # the bad array in every position: the ones before it must not be written
    target(f"Model.set_weights([..., bad #{i}, ...])", WEIGHT,
           lambda ctx, v, i=i: ctx.set_weights(_one_bad_weight(ctx, v, i)), ("set_weights",),
           setup=lambda tmp: _model())
    target(f"Model.load_state_dict({{..., bad #{i}, ...}})", WEIGHT,
           lambda ctx, v, i=i: ctx.load_state_dict({**ctx.state_dict(), list(ctx.state_dict())[i]: v}),
           ("load_state_dict",), setup=lambda tmp: _model())
target("Model.set_weights(...)", not_a_mapping | st.just([np.zeros((2, 3))]), lambda ctx, v: ctx.set_weights(v),
       ("set_weights",), setup=lambda tmp: _model())
target("Model.load_state_dict(...)", not_a_mapping, lambda ctx, v: ctx.load_state_dict(v), ("load_state_dict",),
       setup=lambda tmp: _model())
target("Model.train(mode=...)", not_a_bool, lambda ctx, v: ctx.train(v), ("train", "mode"),
       setup=lambda tmp: _model())
target("Model.load_weights(path=...)", not_a_path, lambda ctx, v: ctx.load_weights(v), ("load_weights", "path"),
       setup=lambda tmp: _model())


def _weights_file(tmp: str, content: Any) -> str:
    path = os.path.join(tmp, "bad.npz")
    if isinstance(content, bytes):
        with open(path, "wb") as f:
            f.write(content)
    else:
        np.savez(path, **content)
    return path


def _good_file_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **_model().state_dict())
    return buf.getvalue()


GOOD_FILE = _good_file_bytes()
BAD_FILES = (st.integers(0, len(GOOD_FILE) - 1).map(lambda n: GOOD_FILE[:n])          # truncated, empty
             | st.binary(max_size=64)                                                 # noise
             | st.sampled_from([{"dense.kernel": np.array(["a", "b"])},                 # strings
                                {k: np.full(v.shape, 1 + 1j) for k, v in _model().state_dict().items()},
                                {"x": np.zeros(3)}])
             | st.sampled_from(list(_model().state_dict())).map(
                 lambda k: {**_model().state_dict(), k: np.array([np.nan])}))


def _load_bad_file(ctx: Dict[str, Any], v: Any) -> None:
    ctx["model"].load_weights(_weights_file(ctx["tmp"], v))


target("Model.load_weights(damaged file)", BAD_FILES, _load_bad_file, ("load_weights",),
       setup=lambda tmp: {"model": _model(), "tmp": tmp}, state=lambda ctx: ctx["model"])


# --- the property ---------------------------------------------------------------------------
def assert_clean_refusal(err: BaseException, t: Target, value: Any) -> None:
    shown = f"{t.name} with {value!r}"
    assert isinstance(err, ALLOWED), f"{shown}: raised {type(err).__name__}: {err}"
    msg = str(err)
    assert any(n in msg for n in t.names), f"{shown}: message {msg!r} names none of {t.names}"
    last = traceback.extract_tb(err.__traceback__)[-1]
    assert os.path.abspath(last.filename).startswith(PACKAGE_DIR), (
        f"{shown}: raised from {last.filename}:{last.lineno} ({last.name}), not from tinygrad_loss")


@pytest.mark.parametrize("t", TARGETS, ids=[t.name for t in TARGETS])
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_hostile_argument_is_refused_cleanly_and_changes_nothing(t: Target, tmp_path, data) -> None:
    value = data.draw(t.values, label=t.name)
    ctx = t.setup(str(tmp_path))
    before = snapshot(t.state(ctx))
    with pytest.raises(BaseException) as info:
        t.call(ctx, value)
    assert_clean_refusal(info.value, t, value)
    assert snapshot(t.state(ctx)) == before, f"{t.name} with {value!r} changed state before failing"


# --- the calls issue 14 reported, one by one -------------------------------------------------
def _adam_sd() -> Dict[str, Any]:
    return _trained(optim.Adam)


REPORTED = [  # (call, error type, a phrase the message must contain)
    (lambda: optim.Adam(epsilon=math.nan), ValueError, "Adam: epsilon must be a finite number >= 0, got nan"),
    (lambda: optim.Adam(epsilon="x"), TypeError, "Adam: epsilon must be a finite number"),
    (lambda: optim.Adam(beta_1="a"), TypeError, "Adam: beta_1 must be a finite number in [0, 1)"),
    (lambda: optim.SGD(weight_decay=math.nan), ValueError, "SGD: weight_decay"),
    (lambda: optim.SGD(weight_decay=math.inf), ValueError, "SGD: weight_decay"),
    (lambda: optim.AdamW(weight_decay=math.nan), ValueError, "AdamW: weight_decay"),
    (lambda: optim.AdamW(weight_decay=None), TypeError, "AdamW: weight_decay"),
    (lambda: optim.RMSprop(momentum=math.nan), ValueError, "RMSprop: momentum"),
    (lambda: optim.Adagrad(initial_accumulator_value=math.nan), ValueError, "Adagrad: initial_accumulator_value"),
    (lambda: optim.SGD(nesterov="no"), TypeError, "SGD: nesterov must be True or False"),
    (lambda: optim.ExponentialDecay("a", 10, 0.5), TypeError, "ExponentialDecay: initial_learning_rate"),
    (lambda: callbacks.EarlyStopping(min_delta=math.nan), ValueError, "EarlyStopping: min_delta"),
    (lambda: callbacks.EarlyStopping(min_delta="a"), TypeError, "EarlyStopping: min_delta"),
    (lambda: callbacks.EarlyStopping(monitor=5), TypeError, "EarlyStopping: monitor must be a string"),
    (lambda: callbacks.ModelCheckpoint(5), TypeError, "ModelCheckpoint: filepath"),
    (lambda: _model().load_state_dict([1, 2]), TypeError, "load_state_dict: state must be a dict"),
]


@pytest.mark.parametrize("call, err, phrase", REPORTED, ids=[r[2] for r in REPORTED])
def test_each_reported_call_is_refused_with_a_message_naming_it(call, err, phrase):
    with pytest.raises(err) as info:
        call()
    assert phrase in str(info.value)


def test_set_weights_writes_nothing_when_a_later_array_is_bad():
    model = _model()
    before = model.get_weights()
    good = [w + 1 for w in before]
    with pytest.raises(TypeError, match="set_weights: weight 'dense_1.bias' must be real numbers"):
        model.set_weights(good[:-1] + [np.array(["x"])])
    for bad in (np.array([1, None], dtype=object), np.array([1 + 2j])):
        with pytest.raises(TypeError, match="set_weights"):
            model.set_weights(good[:-1] + [bad])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
    model.set_weights(good)  # and the good list is applied whole
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), good))


@pytest.mark.parametrize("change, err, phrase", [
    ({"iterations": "x"}, TypeError, "iterations must be an int >= 0"),
    ({"iterations": -3}, ValueError, "iterations must be an int >= 0, got -3"),
    ({"config": {"learning_rate": -5.0}}, ValueError, "learning_rate must be a finite number >= 0, got -5.0"),
    ({"config": {"params": None}}, ValueError, "unknown hyper-parameter 'params'"),
    ({"config": {"amsgrad": True}}, ValueError, "expected the arrays ['momentum', 'velocity', 'velocity_hat']"),
])
def test_optimizer_load_state_dict_checks_everything_before_changing_anything(change, err, phrase):
    ctx = _adam_sd()
    opt, sd = ctx["opt"], ctx["sd"]
    moved = {**sd, "state": [{k: v + 1.0 for k, v in st.items()} for st in sd["state"]], **change}
    before = snapshot(opt)
    with pytest.raises(err) as info:
        opt.load_state_dict(moved)
    assert "Adam.load_state_dict" in str(info.value) and phrase in str(info.value)
    assert snapshot(opt) == before


def test_optimizer_load_state_dict_applies_a_consistent_new_config_whole():
    """Turning on SGD momentum through load_state_dict brings its velocity arrays with it."""
    ctx = _trained(optim.SGD)
    opt = ctx["opt"]
    velocities = [np.full(p.shape, 0.25, p.dtype) for p in opt.params]
    opt.load_state_dict({"iterations": 7, "config": {"momentum": 0.5},
                         "state": [{"momentum": v} for v in velocities]})
    assert opt.momentum == 0.5 and opt.iterations == 7 and opt.slots == ("momentum",)
    w = opt.params[0]
    w0, v0 = w.data.copy(), velocities[0].copy()
    w.grad = tl.Tensor(np.ones_like(w.data))
    opt.step()  # v <- 0.5 v - lr g, w <- w + v  (Keras SGD momentum)
    np.testing.assert_allclose(w.data, w0 + (0.5 * v0 - 0.01 * 1.0), rtol=1e-6)


@pytest.mark.parametrize("content, phrase", [
    (b"", "EOFError"),
    (GOOD_FILE[: len(GOOD_FILE) // 2], "BadZipFile"),
    ({"dense.kernel": np.array(["a", "b"])}, "not numbers"),
])
def test_load_weights_on_a_damaged_file_names_the_function_and_the_file(tmp_path, content, phrase):
    model = _model()
    before = model.get_weights()
    path = _weights_file(str(tmp_path), content)
    with pytest.raises(ValueError) as info:
        model.load_weights(path)
    msg = str(info.value)
    assert msg.startswith("load_weights: ") and repr(path) in msg and phrase in msg
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))
