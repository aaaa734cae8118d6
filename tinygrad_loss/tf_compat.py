"""TensorFlow's custom-training-loop names, as a thin layer over the project's one engine.

``import tinygrad_loss as tf`` then::

    w = tf.Variable(np.zeros((2, 1)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(y - tf.matmul(x, w)))
    grads = tape.gradient(loss, [w])
    optimizer.apply_gradients(zip(grads, [w]))

There is no second autodiff engine here: a :class:`Variable` is a Tensor that requires a
gradient, and :meth:`GradientTape.gradient` is :func:`tinygrad_loss.grad` on the graph the
Tensors recorded. One difference from TensorFlow follows from that: every op on a tensor that
requires a gradient is recorded (outside ``no_grad()``), so a loss computed *before* the tape
was opened can be differentiated too, where TensorFlow would return None.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _validate as V, creation, inplace, ops
from .autograd import enable_grad, grad, no_grad
from .tensor import Tensor

__all__ = [
    "Variable", "constant", "convert_to_tensor", "GradientTape", "reduce_mean", "reduce_sum", "reduce_max",
    "reduce_min", "float32", "float64", "random",
]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)


class Variable(Tensor):
    """A Tensor that holds a model's state and requires a gradient (when ``trainable``).

    ``Variable(initial_value, trainable=True, name=None, dtype=None)``: a NumPy float array keeps
    its dtype, Python numbers and lists take the default dtype (float32), as TensorFlow does.
    ``assign``/``assign_add``/``assign_sub`` change the value in place (never recorded), so an
    optimizer bound to the variable keeps working on the same object.
    """

    __slots__ = ("trainable",)

    def __init__(self, initial_value: Any, trainable: bool = True, name: Optional[str] = None, dtype: Any = None):
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            initial_value = initial_value()  # TensorFlow accepts an initializer callable
        if isinstance(initial_value, Tensor):
            initial_value = initial_value.data
        trainable = V.boolean("Variable", "trainable", trainable)
        try:
            super().__init__(initial_value, requires_grad=False, dtype=dtype, name=name)
        except (TypeError, ValueError) as e:
            raise V.renamed(e, "Variable", ("Tensor",), {"data": "initial_value"}) from None
        if trainable and self.data.dtype.kind != "f":
            raise TypeError(f"Variable: a trainable variable must hold floats, got dtype {self.data.dtype}")
        self.trainable = bool(trainable)
        self.requires_grad = self.trainable

    def _value_for(self, who: str, value: Any) -> np.ndarray:
        arr = np.asarray(value.data if isinstance(value, Tensor) else value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Variable.{who}: value must be numeric, got an array of dtype {arr.dtype}")
        if arr.shape != self.data.shape:
            raise ValueError(f"Variable.{who}: value has shape {arr.shape} but the variable "
                             f"{self.name or ''} has shape {self.data.shape}; they must match")
        return arr

    def assign(self, value: Any) -> "Variable":
        """Set the value in place (same shape; cast to the variable's dtype)."""
        arr = self._value_for("assign", value)
        np.copyto(self.data, arr, casting="unsafe")
        _changed(self)
        return self

    def assign_add(self, delta: Any) -> "Variable":
        """``value += delta`` in place."""
        arr = self._value_for("assign_add", delta)
        np.add(self.data, arr, out=self.data, casting="unsafe")
        _changed(self)
        return self

    def assign_sub(self, delta: Any) -> "Variable":
        """``value -= delta`` in place."""
        arr = self._value_for("assign_sub", delta)
        np.subtract(self.data, arr, out=self.data, casting="unsafe")
        _changed(self)
        return self

    def numpy(self) -> np.ndarray:
        """A copy of the value (TensorFlow's ``Variable.numpy()`` does not share memory)."""
        return self.data.copy()

    def __repr__(self) -> str:
        return "Variable(" + super().__repr__()[len("Tensor("):]


def _changed(t: Tensor) -> None:
    """Count an in-place change of ``t`` (the engine then refuses a backward through ops that used it,
    or used a tensor detached from it)."""
    inplace.bump_version(t)


def constant(value: Any, dtype: Any = None, shape: Any = None, name: Optional[str] = None) -> Tensor:
    """A Tensor that does not require a gradient (``GradientTape.watch`` can make it one).

    A NumPy float64 array stays float64; Python numbers and lists take the default dtype. With
    ``shape``, a scalar value is filled into that shape and any other value is reshaped to it.
    """
    try:
        t = Tensor(value.data if isinstance(value, Tensor) else value, dtype=dtype, name=name)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "constant", ("Tensor",), {"data": "value"}) from None
    if shape is None:
        return t
    shape = V.shape("constant", shape)
    if t.data.size == 1:
        arr = np.full(shape, t.data.reshape(()), dtype=t.data.dtype)
    elif int(np.prod(shape)) != t.data.size:
        raise ValueError(f"constant: value has {t.data.size} elements, which cannot take shape {shape}")
    else:
        arr = t.data.reshape(shape)
    return Tensor(arr, name=name)


def convert_to_tensor(value: Any, dtype: Any = None) -> Tensor:
    """``value`` itself when it is already a Tensor (of ``dtype``, if given), else :func:`constant`."""
    if isinstance(value, Tensor):
        if dtype is not None and V.dtype("convert_to_tensor", dtype, kinds="fb") != value.dtype:
            raise ValueError(f"convert_to_tensor: the tensor has dtype {value.dtype}, asked for {np.dtype(dtype)} "
                             "(use tf.cast / .astype to convert)")
        return value
    try:
        return constant(value, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "convert_to_tensor", ("constant",)) from None


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes for None)."""
    try:
        return ops.sum(input_tensor, axis=axis, keepdims=keepdims)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "reduce_sum", ("sum",)) from None


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes for None)."""
    try:
        return ops.mean(input_tensor, axis=axis, keepdims=keepdims)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "reduce_mean", ("mean",)) from None


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis`` (all axes for None)."""
    try:
        return ops.max(input_tensor, axis=axis, keepdims=keepdims)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "reduce_max", ("max",)) from None


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis`` (all axes for None)."""
    try:
        return ops.min(input_tensor, axis=axis, keepdims=keepdims)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, "reduce_min", ("min",)) from None


# --- GradientTape -----------------------------------------------------------------------------

_OPEN_TAPES: List["GradientTape"] = []
# Constants made to require a gradient by watch(): id -> [tensor, number of tapes watching it].
_WATCHED: Dict[int, list] = {}


def _flatten(who: str, what: str, structure: Any, out: List[Any]) -> Any:
    """Append the leaves of a nested list/tuple/dict to ``out``; return a template to rebuild it."""
    if isinstance(structure, (list, tuple)):
        return type(structure), [_flatten(who, what, s, out) for s in structure]
    if isinstance(structure, dict):
        return dict, {k: _flatten(who, what, v, out) for k, v in structure.items()}
    if not isinstance(structure, Tensor):
        raise TypeError(f"{who}: {what} must be a Tensor or a list/tuple/dict of Tensors, "
                        f"got {type(structure).__name__}")
    out.append(structure)
    return None


def _rebuild(template: Any, values: List[Any]) -> Any:
    """The structure described by ``template`` with its leaves taken in order from ``values``."""
    if template is None:
        return values.pop(0)
    kind, inner = template
    if kind is dict:
        return {k: _rebuild(t, values) for k, t in inner.items()}
    items = [_rebuild(t, values) for t in inner]
    return items if kind is list else kind(items)


class GradientTape:
    """Record a computation and differentiate it, TensorFlow style.

    ``with GradientTape() as tape: loss = ...`` then ``tape.gradient(loss, sources)``. Variables
    (and any tensor that requires a gradient) are watched automatically; ``tape.watch(x)`` makes
    a constant differentiable while the tape is in use. ``gradient`` returns ``None`` for a source
    the target does not depend on. A tape gives one set of gradients unless ``persistent=True``.
    A ``gradient`` call made while another tape is open is itself recorded, so nested tapes give
    second derivatives.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = V.boolean("GradientTape", "persistent", persistent)
        self.watch_accessed_variables = V.boolean("GradientTape", "watch_accessed_variables", watch_accessed_variables)
        self._watched: Dict[int, Tensor] = {}
        self._used = False
        self._mode: Any = None

    def __enter__(self) -> "GradientTape":
        if self._mode is not None:
            raise RuntimeError("GradientTape: this tape is already open; use a new tape for a nested recording")
        self._mode = enable_grad()  # a tape records even inside no_grad()
        self._mode.__enter__()
        _OPEN_TAPES.append(self)
        return self

    def __exit__(self, *exc) -> bool:
        _OPEN_TAPES.remove(self)
        self._mode.__exit__(*exc)
        self._mode = None
        return False

    def stop_recording(self):
        """A context in which nothing is recorded (``no_grad()``)."""
        return no_grad()

    def watch(self, tensor: Any) -> None:
        """Differentiate with respect to ``tensor`` (a Tensor or a nested list/tuple/dict of them)."""
        leaves: List[Tensor] = []
        _flatten("GradientTape.watch", "tensor", tensor, leaves)
        for t in leaves:
            if t.data.dtype.kind != "f":
                raise TypeError(f"GradientTape.watch: only float tensors can be watched, got dtype {t.dtype}")
            if id(t) in self._watched:
                continue
            self._watched[id(t)] = t
            entry = _WATCHED.get(id(t))
            if entry is not None:
                entry[1] += 1
            elif not t.requires_grad:
                t.requires_grad = True
                _WATCHED[id(t)] = [t, 1]

    def watched_variables(self) -> Tuple[Tensor, ...]:
        """The tensors given to :meth:`watch` (Variables are watched without being listed here)."""
        return tuple(self._watched.values())

    def _release(self) -> None:
        """Give watched constants back their ``requires_grad=False`` when no other tape watches them."""
        for k in list(self._watched):
            entry = _WATCHED.get(k)
            if entry is not None:
                entry[1] -= 1
                if entry[1] == 0:
                    entry[0].requires_grad = False
                    del _WATCHED[k]
        self._watched.clear()

    def __del__(self) -> None:
        try:
            self._release()
        except Exception:  # interpreter shutdown: the module globals may already be gone
            pass

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """d(target)/d(source) for every source, in the structure of ``sources``.

        ``target`` may be a Tensor or a list of Tensors (their sum is differentiated); a non-scalar
        target is summed, as in TensorFlow, unless ``output_gradients`` gives the upstream gradient.
        A source the target does not depend on gets ``None`` (zeros with
        ``unconnected_gradients="zero"``).
        """
        who = "GradientTape.gradient"
        if self._used and not self.persistent:
            raise RuntimeError(f"{who}: a non-persistent GradientTape can only compute one set of gradients; "
                               "create it with GradientTape(persistent=True) to call gradient() several times")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"{who}: unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        targets: List[Tensor] = []
        _flatten(who, "target", target, targets)
        srcs: List[Tensor] = []
        template = _flatten(who, "sources", sources, srcs)
        upstream = self._upstream(who, targets, output_gradients)
        self._used = True
        results = self._differentiate(targets, upstream, srcs)
        if not self.persistent:
            self._release()
        if unconnected_gradients == "zero":
            results = [Tensor._wrap(np.zeros_like(s.data)) if g is None else g for g, s in zip(results, srcs)]
        return _rebuild(template, results)

    def _upstream(self, who: str, targets: List[Tensor], output_gradients: Any) -> List[Tensor]:
        if output_gradients is None:
            return [Tensor._wrap(np.ones_like(t.data)) for t in targets]
        listed = output_gradients if isinstance(output_gradients, (list, tuple)) else [output_gradients]
        given = [convert_to_tensor(g) for g in listed]
        if len(given) != len(targets):
            raise ValueError(f"{who}: got {len(targets)} targets but {len(given)} output_gradients")
        for t, g in zip(targets, given):
            if g.shape != t.shape:
                raise ValueError(f"{who}: output_gradients of shape {g.shape} for a target of shape {t.shape}")
        return given

    def _differentiate(self, targets: List[Tensor], upstream: List[Tensor], srcs: List[Tensor]) -> List[Any]:
        live = [(t, g) for t, g in zip(targets, upstream) if t.requires_grad]
        wanted = [s for s in srcs if s.requires_grad and (self.watch_accessed_variables or id(s) in self._watched)]
        if not live or not wanted:
            return [None] * len(srcs)
        unique = list({id(s): s for s in wanted}.values())
        nested = bool(_OPEN_TAPES)  # an open tape records this gradient computation too
        gs = grad([t for t, _ in live], unique, grad_outputs=[g for _, g in live],
                  retain_graph=self.persistent or nested, create_graph=nested, allow_unused=True)
        by_id = {id(s): g for s, g in zip(unique, gs)}
        return [by_id.get(id(s)) for s in srcs]


class _Random:
    """``tf.random``: ``set_seed`` reseeds the project's one generator; ``normal`` and ``uniform`` draw from it."""

    @staticmethod
    def set_seed(seed: int) -> None:
        """Make every later random draw (weights, dropout, shuffling) reproducible."""
        creation.manual_seed(seed)

    @staticmethod
    def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None) -> Tensor:
        """Samples of N(mean, stddev²) of ``shape``."""
        z = creation.randn(shape, dtype=dtype).data
        return Tensor(z * z.dtype.type(stddev) + z.dtype.type(mean))

    @staticmethod
    def uniform(shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None) -> Tensor:
        """Samples of U[minval, maxval) of ``shape``."""
        return creation.uniform(shape, minval, maxval, dtype=dtype)


random = _Random()
