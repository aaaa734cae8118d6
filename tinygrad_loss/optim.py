"""Optimizers with Keras's defaults and update rules, usable Keras-style or PyTorch-style.

Keras style: ``model.compile(optimizer=Adam(learning_rate=1e-3), ...)`` or ``optimizer="adam"``;
``fit`` hands the optimizer the model's parameters. PyTorch style::

    opt = Adam(model.parameters())
    for x, y in batches:
        opt.zero_grad()
        loss_fn(y, model(x)).backward()
        opt.step()

Updates are plain NumPy on ``param.data``, in place, under ``no_grad``: they are never
recorded in a graph. Parameters whose ``grad`` is None are skipped.

The update rules, with ``g`` the gradient, ``lr`` the learning rate at this step and
``t`` the 1-based step number (Keras 3 source; weight decay, when given, is applied first
to every optimizer as ``w ← w - w·wd·lr``, i.e. decoupled as in AdamW):

* SGD:      ``w ← w - lr·g``; with momentum ``v ← μ·v - lr·g`` and ``w ← w + v``;
  Nesterov: ``w ← w + μ·v - lr·g`` (with the new ``v``).
* Adam:     ``m ← m + (1-β₁)(g - m)``, ``v ← v + (1-β₂)(g² - v)``,
  ``α = lr·√(1-β₂ᵗ)/(1-β₁ᵗ)``, ``w ← w - α·m/(√v + ε)``; AMSGrad uses ``v̂ = max(v̂, v)`` for v.
  (ε is added to √v of the *uncorrected* v, so it is effectively ε·√(1-β₂ᵗ) in the paper's
  notation; PyTorch adds ε to √v̂ of the bias-corrected v. See docs/training.md.)
* AdamW:    Adam with ``weight_decay=0.004`` by default.
* RMSprop:  ``v ← ρ·v + (1-ρ)·g²``, ``Δ = lr·g/√(v + ε)`` (ε inside the root), ``w ← w - Δ``;
  with momentum ``m ← μ·m + Δ``, ``w ← w - m``; centered: ``a ← ρ·a + (1-ρ)·g``, ``√(v - a² + ε)``.
* Adagrad:  ``a ← a + g²`` (a starts at 0.1), ``w ← w - lr·g/√(a + ε)``.
"""
from __future__ import annotations

import functools
import math
import numbers
import warnings
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validate as V
from . import inplace as _inplace
from .autograd import STATE
from .tensor import Tensor

_ndarray = np.ndarray
_multiply, _subtract, _add = np.multiply, np.subtract, np.add
_may_share_memory, _empty = np.may_share_memory, np.empty

#: Elements per block of :func:`_minus_scaled` (256 KiB of float32: the block's product stays in the
#: second-level cache between its two ufunc calls). Smaller weights keep the one call: splitting them
#: costs more Python per step than their temporary costs.
UPDATE_BLOCK = 1 << 16


def _minus_scaled(out: np.ndarray, g: np.ndarray, rate: np.ndarray) -> None:
    """``out -= g * rate`` in place, bit for bit ``subtract(out, multiply(g, rate), out)``.

    An array of more than UPDATE_BLOCK elements is updated block by block through one small buffer
    instead of a product of its whole size: each element's result is the same (two elementwise
    ufuncs), but a step no longer allocates and fills a temporary as large as its largest weight,
    which on big layers made the C heap grow and shrink by megabytes each step (page faults in
    every step). Arrays that are not C-contiguous, or whose memory may overlap, keep the one call."""
    n = out.size
    if n <= UPDATE_BLOCK or not (out.flags.c_contiguous and g.flags.c_contiguous) or _may_share_memory(out, g):
        _subtract(out, _multiply(g, rate), out)
        return
    block = UPDATE_BLOCK
    flat_out, flat_g, buf = out.reshape(-1), g.reshape(-1), _empty(block, out.dtype)
    for start in range(0, n, block):
        o = flat_out[start:start + block]
        t = buf if o.size == block else buf[:o.size]
        _multiply(flat_g[start:start + block], rate, t)
        _subtract(o, t, o)
_CONSTANTS: Dict[Tuple[float, np.dtype], Optional[np.ndarray]] = {}


def _constant(x: float, dtype: np.dtype) -> Optional[np.ndarray]:
    """The float ``x`` as a read-only 0-d array of the float ``dtype``, or None when it is not finite there.

    NumPy converts a Python number beside an array to the array's dtype at every call (about 3k
    instructions); a 0-d array of that dtype gives the same bits (NumPy 2's rule, and NumPy 1's for a
    number that fits the dtype) without the conversion. Kept by value (a schedule's rates: at most 64)."""
    key = (x, dtype) if x else (repr(x), dtype)  # 0.0 == -0.0, but they differ as factors
    arr = _CONSTANTS.get(key, False)
    if arr is not False:
        return arr
    if len(_CONSTANTS) >= 64:
        _CONSTANTS.clear()
    arr = None
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            arr = np.array(x, dtype=dtype)
        if math.isfinite(arr.item()):
            arr.flags.writeable = False
        else:
            arr = None
    _CONSTANTS[key] = arr
    return arr

def _named(p: Tensor) -> str:
    """A tensor's name and a space, for messages (nothing for an unnamed one)."""
    return f"{p.name} " if p.name else ""


__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LearningRateSchedule", "ExponentialDecay", "get",
]


class LearningRateSchedule:
    """A learning rate as a function of the step count (0 for the first update)."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError


class ExponentialDecay(LearningRateSchedule):
    """``lr(step) = initial_learning_rate · decay_rate^(step / decay_steps)``; with
    ``staircase=True`` the exponent is ``floor(step / decay_steps)`` (Keras)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False):
        who = "ExponentialDecay"
        self.initial_learning_rate = V.number(who, "initial_learning_rate", initial_learning_rate, lo=0)
        self.decay_steps = V.number(who, "decay_steps", decay_steps, lo=0, lo_open=True)
        if float(decay_steps).is_integer():
            self.decay_steps = int(decay_steps)
        self.decay_rate = V.number(who, "decay_rate", decay_rate, lo=0, lo_open=True)
        self.staircase = V.boolean(who, "staircase", staircase)

    def __call__(self, step: int) -> float:
        p = V.number("ExponentialDecay", "step", step, lo=0) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def __repr__(self) -> str:
        return (f"ExponentialDecay(initial_learning_rate={self.initial_learning_rate}, decay_steps={self.decay_steps},"
                f" decay_rate={self.decay_rate}, staircase={self.staircase})")


def _is_lr(x: Any) -> bool:
    return (isinstance(x, numbers.Real) and not isinstance(x, bool)) or isinstance(x, LearningRateSchedule) or (
        callable(x) and not isinstance(x, (Tensor, type)))


# --- hyper-parameter checks: ``check(who, name, value) -> normalized value`` -------------------
# Every optimizer lists its hyper-parameters in ``hyper``; construction and load_state_dict both
# go through Optimizer._checked_config, so the rules live here once.
Check = Callable[[str, str, Any], Any]


def _learning_rate(who: str, name: str, x: Any) -> Any:
    if isinstance(x, LearningRateSchedule) or (callable(x) and not isinstance(x, (Tensor, type))):
        return x
    if not V.is_real(x):
        raise TypeError(f"{who}: {name} must be a finite number >= 0, a schedule or a callable of the step, "
                        f"got {V.show(x)} of type {type(x).__name__}")
    return V.number(who, name, x, lo=0)


def _non_negative(who: str, name: str, x: Any) -> float:
    return V.number(who, name, x, lo=0)


def _optional_non_negative(who: str, name: str, x: Any) -> Optional[float]:
    return V.number(who, name, x, lo=0, allow_none=True)


def _unit_open(who: str, name: str, x: Any) -> float:
    return V.number(who, name, x, lo=0, hi=1, hi_open=True)


def _unit_closed(who: str, name: str, x: Any) -> float:
    return V.number(who, name, x, lo=0, hi=1)


_CLIP_ARGS = ("clipnorm", "clipvalue", "global_clipnorm")


def _positive_or_none(who: str, name: str, x: Any) -> Optional[float]:
    return V.number(who, name, x, lo=0, lo_open=True, allow_none=True)


def _checked_clipping(who: str, config: Dict[str, Any]) -> Dict[str, float]:
    """The clipping arguments of ``config`` that are set, checked (at most one may be, as in Keras)."""
    given = {k: _positive_or_none(who, k, config.get(k)) for k in _CLIP_ARGS if config.get(k) is not None}
    if len(given) > 1:
        raise ValueError(f"{who}: only one of clipnorm, clipvalue and global_clipnorm can be set "
                         f"(Keras), got {', '.join(f'{k}={v}' for k, v in given.items())}")
    return given


def _with_clipping(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: "Optimizer", *args: Any, clipnorm: Optional[float] = None, clipvalue: Optional[float] = None,
                 global_clipnorm: Optional[float] = None, **kwargs: Any) -> None:
        given = _checked_clipping(type(self).__name__, dict(zip(_CLIP_ARGS, (clipnorm, clipvalue, global_clipnorm))))
        init(self, *args, **kwargs)
        for k, v in given.items():
            setattr(self, k, float(v))
    return __init__


def clip_gradients(opt: "Optimizer", grads: List[np.ndarray]) -> List[np.ndarray]:
    """Keras's gradient clipping, applied before the update (new arrays; the ``.grad`` values are untouched):

    * ``clipnorm``: each gradient rescaled to norm at most clipnorm, ``g · c / max(‖g‖, c)``;
    * ``global_clipnorm``: all gradients rescaled together by ``c / max(‖(g₁, g₂, ...)‖, c)``;
    * ``clipvalue``: each entry clipped to ``[-c, c]``.
    """
    if opt.clipnorm:
        c = opt.clipnorm
        return [g * (c / max(float(np.sqrt(np.sum(np.square(g)))), c)) for g in grads]
    if opt.global_clipnorm:
        c = opt.global_clipnorm
        norm = float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))
        return [g * (c / max(norm, c)) for g in grads]
    if opt.clipvalue:
        return [np.clip(g, -opt.clipvalue, opt.clipvalue) for g in grads]
    return grads


class Optimizer:
    """Base class: the parameter list, the step counter, the learning rate (a number, a
    :class:`LearningRateSchedule` or any callable of the step), weight decay and per-parameter state.

    The first positional argument may be the parameters (PyTorch) or the learning rate (Keras):
    ``Adam(model.parameters(), learning_rate=0.01)`` and ``Adam(0.01)`` both work. ``lr=`` is
    accepted as PyTorch's spelling of ``learning_rate``.
    """

    #: hyper-parameter name -> its check; subclasses extend it. Used by __init__ and load_state_dict.
    hyper: Dict[str, Check] = {"learning_rate": _learning_rate, "weight_decay": _optional_non_negative,
                               "clipnorm": _positive_or_none, "clipvalue": _positive_or_none,
                               "global_clipnorm": _positive_or_none}
    #: state arrays that must never be negative (square roots are taken of them)
    non_negative_slots = frozenset({"velocity", "velocity_hat", "accumulator"})
    clipnorm: Optional[float] = None
    clipvalue: Optional[float] = None
    global_clipnorm: Optional[float] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Every optimizer takes Keras's clipnorm=/clipvalue=/global_clipnorm=: added here to each
        # subclass's constructor, so the update-rule classes list only their own hyper-parameters.
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _with_clipping(cls.__dict__["__init__"])

    def __init__(self, params: Any = None, learning_rate: Any = 0.001, weight_decay: Optional[float] = None,
                 name: Optional[str] = None, lr: Any = None, **hyper: Any):
        who = type(self).__name__
        if params is not None and _is_lr(params):
            params, learning_rate = None, params
        if lr is not None:
            learning_rate = lr
        config = self._checked_config(who, {"learning_rate": learning_rate, "weight_decay": weight_decay, **hyper})
        name = V.string(who, "name", name, allow_none=True)
        for k, v in config.items():
            setattr(self, k, v)
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self.params: List[Tensor] = []
        self.state: List[Dict[str, np.ndarray]] = []
        if params is not None:
            self.add_params(params)

    def _checked_config(self, who: str, config: Mapping[str, Any]) -> Dict[str, Any]:
        """Every hyper-parameter of ``config`` checked (unknown names refused), normalized."""
        out = {}
        for k, v in config.items():
            check = self.hyper.get(k)
            if check is None:
                raise ValueError(f"{who}: unknown hyper-parameter {V.show(k)}; {type(self).__name__} has "
                                 + ", ".join(self.hyper))
            out[k] = check(who, k, v)
        return out

    @staticmethod
    def _slot_names(config: Mapping[str, Any]) -> Tuple[str, ...]:
        """Names of the per-parameter state arrays the hyper-parameters ``config`` need, in order."""
        return ()

    @property
    def slots(self) -> Tuple[str, ...]:
        """Names of the per-parameter state arrays, in order."""
        return self._slot_names(self.get_config())

    # --- parameters and state ----------------------------------------------------------
    def add_params(self, params: Iterable[Tensor]) -> None:
        """Bind the optimizer to ``params`` (done by ``fit`` for Keras-style use)."""
        if isinstance(params, Tensor):
            params = [params]
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors, got "
                            f"{type(params).__name__}") from None
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list (is the model built? give the "
                             "first layer input_shape=..., or call the model once on data)")
        seen = {id(p) for p in self.params}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: params must be Tensors, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: parameter {_named(p)}of shape {p.shape} does not "
                                 "require grad")
            if id(p) in seen:
                continue
            seen.add(id(p))
            self.params.append(p)
            self.state.append(self._init_state(p.data))

    def _init_state(self, w: np.ndarray) -> Dict[str, np.ndarray]:
        return {k: np.zeros_like(w) for k in self.slots}

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``)."""
        for p in self.params:
            p._grad = None  # (what the ``grad`` setter does, without its call)

    def current_learning_rate(self) -> float:
        """The learning rate the next step uses (the schedule evaluated at ``iterations``)."""
        lr = self.learning_rate
        if not callable(lr):
            return float(lr)
        who = type(self).__name__
        try:  # a schedule's value is checked every step: a NaN or negative rate would corrupt the weights
            value = lr(self.iterations)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{who}: the learning-rate schedule must return a number, at step "
                            f"{self.iterations} it failed: {e}") from None
        if isinstance(value, (np.ndarray, Tensor)) and np.size(value) == 1:
            value = np.asarray(value).reshape(()).item()
        if not V.is_real(value):
            raise TypeError(f"{who}: the learning-rate schedule must return a number, at step {self.iterations} it "
                            f"gave {V.show(value)}")
        if not 0 <= value < math.inf:
            raise ValueError(f"{who}: the learning-rate schedule gave {value} at step {self.iterations}; it must be "
                             "a finite number >= 0")
        return float(value)

    lr = property(current_learning_rate)

    # --- the update -----------------------------------------------------------------------
    def step(self) -> None:
        """Apply one update to every parameter that has a gradient, then count the step."""
        params = self.params
        if not params:
            raise RuntimeError(f"{type(self).__name__}.step: the optimizer has no parameters; create it with "
                               "model.parameters() or use it through compile/fit")
        # ``_grad``, not the ``grad`` property: a bare array there is taken as it is, not wrapped first
        self._apply("step", [(i, g) for i, p in enumerate(params) if (g := p._grad) is not None])

    def apply_gradients(self, grads_and_vars: Iterable[Any]) -> None:
        """Keras/TensorFlow style: ``opt.apply_gradients(zip(grads, variables))`` updates each variable
        from the gradient paired with it (gradients from ``GradientTape.gradient``, Tensors or arrays).

        The first call binds the optimizer's state to those variables (no parameters are needed at
        construction). A ``None`` gradient is skipped with a warning, as in Keras; all ``None`` is an error.
        """
        who = f"{type(self).__name__}.apply_gradients"
        pairs = _pairs(who, grads_and_vars)
        missing = [v for g, v in pairs if g is None]
        given = [(g, v) for g, v in pairs if g is not None]
        if not given:
            raise ValueError(f"{who}: no gradients provided for any variable (every gradient is None: does the "
                             "loss depend on the variables? was it computed inside the GradientTape?)")
        for g, v in given:  # checked before the variables are bound: a refused call changes nothing
            if np.shape(g.data if isinstance(g, Tensor) else g) != v.shape:
                raise ValueError(f"{who}: gradient of shape {np.shape(g.data if isinstance(g, Tensor) else g)} "
                                 f"for variable {_named(v)}of shape {v.shape}")
        self.add_params([v for _, v in given])
        index = {id(p): i for i, p in enumerate(self.params)}
        self._apply("apply_gradients", [(index[id(v)], g) for g, v in given])
        if missing:
            warnings.warn(f"{who}: gradients do not exist for variables "
                          f"{[v.name or f'<shape {v.shape}>' for v in missing]}; they were not updated", stacklevel=2)

    def _apply(self, method: str, items: List[Any]) -> None:
        """Update ``params[i]`` from gradient ``g`` for each ``(i, g)``, then count the step. Every
        gradient is checked before any parameter changes (errors name ``Class.method``)."""
        lr = self.current_learning_rate()
        params, state = self.params, self.state
        work, grads = [], []
        for i, g in items:
            p = params[i]
            w = p._data
            g = g._data if g.__class__ is Tensor else g.data if isinstance(g, Tensor) else np.asarray(g)
            if g.shape != w.shape:
                raise ValueError(f"{type(self).__name__}.{method}: gradient of shape {g.shape} for parameter "
                                 f"{_named(p)}of shape {p.shape}")
            if g.dtype != w.dtype:
                g = g.astype(w.dtype)
            work.append((p, w, state[i]))
            grads.append(g)
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            grads = clip_gradients(self, grads)
        decay, update = self.weight_decay, self.update
        was = STATE.grad_enabled  # (no_grad(), inline: this runs on every training step)
        STATE.grad_enabled = False
        try:
            for (p, w, st), g in zip(work, grads):
                if decay:
                    w -= w * decay * lr
                update(w, g, st, lr)
                p._version += 1  # an in-place change: a graph that used p can no longer be differentiated
                if _inplace._ALIASES:  # nor one that used a tensor detached from p (same data)
                    _inplace._bump_aliases(p)
        finally:
            STATE.grad_enabled = was
        self.iterations += 1

    def update(self, w: np.ndarray, g: np.ndarray, state: Dict[str, np.ndarray], lr: float) -> None:
        """Update the array ``w`` in place from gradient ``g`` (subclasses)."""
        raise NotImplementedError

    # --- save / restore -------------------------------------------------------------------
    def get_config(self) -> Dict[str, Any]:
        return {"learning_rate": self.learning_rate, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    def state_dict(self) -> Dict[str, Any]:
        """Everything needed to resume exactly: the step count, the hyper-parameters and copies
        of the per-parameter state arrays (in parameter order)."""
        return {
            "iterations": self.iterations,
            "config": dict(self.get_config()),
            "state": [{k: v.copy() for k, v in st.items()} for st in self.state],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (the optimizer must have the same parameter shapes).
        Everything is checked first (step count, hyper-parameters, every state array); on any
        error nothing changes."""
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping):
            raise TypeError(f"{who}: state must be the dict state_dict() returns, got {V.show(state)}")
        missing, unknown = {"iterations", "state"} - set(state), set(state) - {"iterations", "config", "state"}
        if missing or unknown:
            raise ValueError(f"{who}: expected the output of state_dict(); missing {sorted(missing) or 'none'}, "
                             f"unexpected {sorted(map(str, unknown)) or 'none'}")
        iterations = V.integer(who, "iterations", state["iterations"], lo=0)
        given = state.get("config", {})
        if not isinstance(given, Mapping):
            raise TypeError(f"{who}: config must be a dict of hyper-parameters, got {V.show(given)}")
        config = {**self.get_config(), **self._checked_config(who, given)}
        _checked_clipping(who, config)
        arrays = self._checked_state(who, state["state"], self._slot_names(config))
        self.state = arrays
        for k, v in config.items():
            setattr(self, k, v)
        self.iterations = iterations

    def _checked_state(self, who: str, slots: Any, names: Tuple[str, ...]) -> List[Dict[str, np.ndarray]]:
        """New per-parameter state arrays (copies in each parameter's dtype) from ``slots``, checked."""
        if not isinstance(slots, (list, tuple)):
            raise TypeError(f"{who}: state must be a list with one dict per parameter, got {V.show(slots)}")
        if len(slots) != len(self.params):
            raise ValueError(f"{who}: the state has {len(slots)} parameters, this optimizer has {len(self.params)}")
        out = []
        for i, (entry, p) in enumerate(zip(slots, self.params)):
            if not isinstance(entry, Mapping) or set(entry) != set(names):
                raise ValueError(f"{who}: parameter {i} has state {V.show(entry)}, expected the arrays "
                                 f"{list(names)} (for these hyper-parameters)")
            arrays = {}
            for k in names:
                what = f"state {k!r} of parameter {i}"
                a = V.real_array(who, entry[k], what, allow_bool=False)
                if a.shape != p.shape:
                    raise ValueError(f"{who}: {what} has shape {a.shape}, expected {p.shape}")
                with np.errstate(over="ignore"):  # a value too large for the dtype is reported as inf
                    arrays[k] = V.real_array(who, np.array(a, dtype=p.data.dtype), what, finite=True)
                if k in self.non_negative_slots and (arrays[k] < 0).any():
                    raise ValueError(f"{who}: {what} must be >= 0 (a running mean of squares)")
            out.append(arrays)
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum. Keras defaults: lr 0.01, momentum 0."""

    hyper = {**Optimizer.hyper, "momentum": _unit_closed, "nesterov": V.boolean}

    def __init__(self, params: Any = None, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: Optional[float] = None, name: Optional[str] = None, lr: Any = None):
        super().__init__(params, learning_rate, weight_decay, name, lr, momentum=momentum, nesterov=nesterov)

    @staticmethod
    def _slot_names(config):
        return ("momentum",) if config["momentum"] else ()

    def _apply(self, method: str, items: List[Any]) -> None:
        # The usual step (a float learning rate, no weight decay, clipping or Nesterov, ``update`` not
        # overridden, every gradient an array of its parameter's shape and dtype): the arithmetic of
        # ``update``, without its per-parameter Python work. Anything else takes the general path, which
        # also raises every refusal; nothing has changed when this one hands over.
        lr, momentum = self.learning_rate, self.momentum
        if lr.__class__ is not float or self.weight_decay or self.nesterov or self.clipnorm or \
                self.global_clipnorm or self.clipvalue or type(self).update is not SGD.update:
            return super()._apply(method, items)
        params, state = self.params, self.state
        work, dtype = [], None
        for i, g in items:
            p = params[i]
            w = p._data
            g = g._data if g.__class__ is Tensor else g
            if g.__class__ is not _ndarray or g.shape != w.shape or g.dtype is not w.dtype:
                return super()._apply(method, items)
            if w.dtype is not dtype:
                dtype = w.dtype
                lr_w, m_w = _constant(lr, dtype), _constant(momentum, dtype) if momentum else None
                if lr_w is None or (momentum and m_w is None):  # not finite numbers of this dtype: NumPy's conversion decides
                    return super()._apply(method, items)
            work.append((p, w, g, lr_w, m_w, state[i] if momentum else None))
        aliases = _inplace._ALIASES
        for p, w, g, lr_w, m_w, st in work:
            if st is None:  # w <- w - lr g, in place
                if w.size <= UPDATE_BLOCK:  # (_minus_scaled's first case, without its call)
                    _subtract(w, _multiply(g, lr_w), w)
                else:
                    _minus_scaled(w, g, lr_w)
            else:  # v <- m v - lr g; w <- w + v
                v = st["momentum"]
                _multiply(v, m_w, v)
                _minus_scaled(v, g, lr_w)
                _add(w, v, w)
            p._version += 1  # an in-place change: a graph that used p can no longer be differentiated
            if aliases:  # nor one that used a tensor detached from p (same data)
                _inplace._bump_aliases(p)
        self.iterations += 1

    def update(self, w, g, state, lr):
        if not self.momentum:
            w -= lr * g
            return
        v = state["momentum"]
        v *= self.momentum
        v -= lr * g
        if self.nesterov:
            w += self.momentum * v - lr * g
        else:
            w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba) with Keras's defaults: lr 0.001, β₁ 0.9, β₂ 0.999, ε 1e-7."""

    hyper = {**Optimizer.hyper, "beta_1": _unit_open, "beta_2": _unit_open, "epsilon": _non_negative,
             "amsgrad": V.boolean}

    def __init__(self, params: Any = None, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: Optional[float] = None,
                 name: Optional[str] = None, lr: Any = None):
        super().__init__(params, learning_rate, weight_decay, name, lr, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad)

    @staticmethod
    def _slot_names(config):
        return ("momentum", "velocity", "velocity_hat") if config["amsgrad"] else ("momentum", "velocity")

    def update(self, w, g, state, lr):
        t = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        m, v = state["momentum"], state["velocity"]
        m += (g - m) * (1.0 - self.beta_1)
        v += (np.square(g) - v) * (1.0 - self.beta_2)
        if self.amsgrad:
            vh = state["velocity_hat"]
            np.maximum(vh, v, out=vh)
            v = vh
        w -= (m * alpha) / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay ``w ← w - w·wd·lr`` before each step (Keras default wd 0.004)."""

    hyper = {**Adam.hyper, "weight_decay": _non_negative}  # a number here, never None

    def __init__(self, params: Any = None, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 name: Optional[str] = None, lr: Any = None):
        super().__init__(params, learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, name, lr)


class RMSprop(Optimizer):
    """RMSprop with Keras's defaults: lr 0.001, ρ 0.9, momentum 0, ε 1e-7 (inside the square root)."""

    hyper = {**Optimizer.hyper, "rho": _unit_open, "momentum": _non_negative, "epsilon": _non_negative,
             "centered": V.boolean}

    def __init__(self, params: Any = None, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: Optional[float] = None,
                 name: Optional[str] = None, lr: Any = None):
        super().__init__(params, learning_rate, weight_decay, name, lr, rho=rho, momentum=momentum,
                         epsilon=epsilon, centered=centered)

    @staticmethod
    def _slot_names(config):
        return ("velocity",) + (("momentum",) if config["momentum"] > 0 else ()) + (
            ("average_gradient",) if config["centered"] else ())

    def update(self, w, g, state, lr):
        v = state["velocity"]
        v *= self.rho
        v += (1.0 - self.rho) * np.square(g)
        if self.centered:
            a = state["average_gradient"]
            a *= self.rho
            a += (1.0 - self.rho) * g
            denom = v - np.square(a) + self.epsilon
        else:
            denom = v + self.epsilon
        incr = lr * g / np.sqrt(denom)
        if self.momentum > 0:
            m = state["momentum"]
            m *= self.momentum
            m += incr
            w -= m
        else:
            w -= incr

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad with Keras's defaults: lr 0.001, accumulators starting at 0.1, ε 1e-7."""

    hyper = {**Optimizer.hyper, "initial_accumulator_value": _non_negative, "epsilon": _non_negative}

    def __init__(self, params: Any = None, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: Optional[float] = None, name: Optional[str] = None,
                 lr: Any = None):
        super().__init__(params, learning_rate, weight_decay, name, lr,
                         initial_accumulator_value=initial_accumulator_value, epsilon=epsilon)

    @staticmethod
    def _slot_names(config):
        return ("accumulator",)

    def _init_state(self, w):
        return {"accumulator": np.full_like(w, self.initial_accumulator_value)}

    def update(self, w, g, state, lr):
        a = state["accumulator"]
        a += np.square(g)
        w -= lr * g / np.sqrt(a + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


def _pairs(who: str, grads_and_vars: Iterable[Any]) -> List[Any]:
    """``grads_and_vars`` as a list of (gradient or None, Tensor) pairs, or a TypeError naming ``who``."""
    try:
        pairs = [tuple(pair) for pair in grads_and_vars]
    except TypeError:
        raise TypeError(f"{who}: grads_and_vars must be (gradient, variable) pairs, e.g. zip(grads, variables)") from None
    for pair in pairs:
        if len(pair) != 2 or not isinstance(pair[1], Tensor):
            raise TypeError(f"{who}: grads_and_vars must be (gradient, variable) pairs with a Tensor variable, "
                            f"got {pair!r:.60}")
    return pairs


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier: Union[str, Optimizer, type]) -> Optimizer:
    """An optimizer from a name (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``,
    any case), a class (instantiated with defaults) or an instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"optimizers.get: unknown optimizer {identifier!r}; valid names are: "
                             + ", ".join(sorted(_BY_NAME)))
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise TypeError(f"optimizers.get: expected an optimizer name or an Optimizer, got {type(identifier).__name__}")
