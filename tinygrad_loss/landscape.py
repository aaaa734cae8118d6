"""The numbers behind the loss pictures: plain NumPy arrays, computed with the project's autodiff.

* :func:`loss_curves` — each loss and its derivative (by ``backward()``) against the error, the
  predicted probability or the margin: the loss atlas.
* :func:`loss_surface` — a loss of a 2-vector on a grid, in one batched call when it can.
* :func:`model_loss_surface` — a model's loss along two filter-normalised random directions
  (Li et al., NeurIPS 2018) or along two named weights.
* :func:`optimizer_paths` — the trajectory of each optimizer from the same start.

Nothing here imports matplotlib (the drawing is :mod:`tinygrad_loss.viz.plots`) or training code
(nn, optim, training, callbacks): a model and optimizer classes are passed in and only called. This
module sits beside ``losses`` rather than inside ``viz`` because it needs the losses (names as
``compile`` accepts them, the default atlas), which the graph viewer must not import;
``tl.viz`` re-exports its functions next to the drawing functions.
"""
from __future__ import annotations

import inspect
import numbers
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _validate as V
from . import losses as _losses
from .autograd import no_grad
from .tensor import Tensor

__all__ = ["loss_curves", "loss_surface", "model_loss_surface", "optimizer_paths", "filter_normalized_direction",
           "REGRESSION_LOSSES", "CLASSIFICATION_LOSSES"]

Curve = Tuple[np.ndarray, np.ndarray, np.ndarray]


def _regression_defaults() -> Dict[str, Any]:
    return {"mse": "mse", "mae": "mae", **{f"huber(delta={d:g})": _losses.Huber(delta=d) for d in (0.5, 1.0, 2.0)},
            "log_cosh": "log_cosh", "msle": "msle"}


def _classification_defaults() -> Dict[str, Any]:
    chosen: Dict[str, Any] = {"binary_crossentropy": "binary_crossentropy"}
    focal = getattr(_losses, "BinaryFocalCrossentropy", None)
    if focal is not None:  # gamma 0 is plain cross-entropy; larger gammas discount easy examples
        chosen.update({f"focal(gamma={g:g})": focal(gamma=g) for g in (0.0, 2.0, 5.0)})
    return {**chosen, "hinge": "hinge", "squared_hinge": "squared_hinge"}


#: the losses each atlas draws when ``losses=None`` (built on demand: the focal loss may be added later)
REGRESSION_LOSSES = _regression_defaults
CLASSIFICATION_LOSSES = _classification_defaults

#: losses whose x axis is the raw score (margin) rather than a probability
_MARGIN_LOSSES = ("hinge", "squared_hinge")


def _label(spec: Any, loss: Any) -> str:
    """A dict key for a loss: the string as given, or the Loss's name with the arguments that
    differ from its class defaults (``"huber(delta=0.5)"``)."""
    if isinstance(spec, str):
        return spec
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    try:
        default = type(loss)().get_config()
        changed = {k: v for k, v in loss.get_config().items() if k not in ("name", "reduction") and default.get(k) != v}
    except Exception:  # not a Loss with defaults: the name alone
        changed = {}
    return name + ("(" + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in changed.items()) + ")" if changed else "")


def _resolve(losses: Any, who: str) -> Dict[str, Any]:
    if isinstance(losses, (str, _losses.Loss)) or callable(losses) and not isinstance(losses, Mapping):
        losses = [losses]
    if not isinstance(losses, (Mapping, list, tuple)):
        raise TypeError(f"{who}: losses must be a loss, a list of losses or a dict {{label: loss}}, got {V.show(losses)}")
    items = list(losses.items()) if isinstance(losses, Mapping) else [(None, spec) for spec in losses]
    out: Dict[str, Any] = {}
    for label, spec in items:
        try:
            loss = _losses.get(spec)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{who}: losses holds {spec!r}, which is not a loss: {e}") from None
        key = label if label is not None else _label(spec, loss)
        if key in out:
            raise ValueError(f"{who}: two losses are both labelled {key!r}; pass a dict to name them")
        out[key] = loss
    if not out:
        raise ValueError(f"{who}: losses is empty")
    return out


def is_margin_loss(label: str, loss: Any = None) -> bool:
    """True when the atlas draws this loss against the raw score (hinge family)."""
    name = getattr(loss, "name", label)
    return any(str(name).startswith(m) for m in _MARGIN_LOSSES)


def _per_sample(loss: Any, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
    """Per-sample values (shape ``(n,)``): a Loss's ``call`` (before its reduction), or a loss
    function's own output."""
    call = loss.call if isinstance(loss, _losses.Loss) else loss
    return call(Tensor(y_true, dtype=y_pred.dtype), y_pred)


def _value_and_derivative(loss: Any, y_true: np.ndarray, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Each point's loss and d loss / d y_pred, by one backward pass over the sum of the
    independent per-sample values (point by point if the loss reduces over the batch)."""
    y_pred = Tensor(x.reshape(-1, 1), requires_grad=True, dtype=np.float64)
    values = _per_sample(loss, y_true.reshape(-1, 1), y_pred)
    if values.shape == (x.size,):
        values.sum().backward()
        return values.numpy().astype(float), y_pred.grad.numpy().reshape(-1).astype(float)
    value, deriv = np.empty(x.size), np.empty(x.size)
    for i in range(x.size):
        y_pred = Tensor(x[i:i + 1].reshape(1, 1), requires_grad=True, dtype=np.float64)
        v = _per_sample(loss, y_true[i:i + 1].reshape(1, 1), y_pred).sum()
        v.backward()
        value[i], deriv[i] = v.item(), y_pred.grad.numpy().item()
    return value, deriv


def loss_curves(losses: Any = None, kind: str = "regression", x: Optional[Sequence[float]] = None,
                steps: int = 401, y_true: Optional[float] = None) -> Dict[str, Curve]:
    """Each loss and its derivative along one axis: ``{name: (x, value, derivative)}``.

    ``kind="regression"``: against the error ``e = y_pred - y_true`` (``x`` defaults to
    ``linspace(-3, 3)``; ``y_true`` defaults to 1, which only MSLE notices).
    ``kind="classification"``: for a positive target, against the predicted probability
    (cross-entropy, focal; ``x`` defaults to ``linspace(0.01, 0.99)``) or the raw score
    ``y_pred`` (hinge, squared hinge; ``linspace(-2, 3)``).

    ``losses``: names as ``compile`` accepts them, Loss objects, loss functions, or a dict
    ``{label: loss}``; ``None`` gives the default set of the kind. Keys are the strings as given,
    or a Loss's name with its non-default arguments (``"huber(delta=0.5)"``). The derivative is
    d loss / d y_pred of one sample, computed by ``backward()``.
    """
    who = "loss_curves"
    V.string(who, "kind", kind, choices=("regression", "classification"))
    y_true = V.number(who, "y_true", y_true, allow_none=True)
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 2:
        raise ValueError(f"{who}: steps must be an int >= 2, got {steps!r}")
    if losses is None:
        losses = REGRESSION_LOSSES() if kind == "regression" else CLASSIFICATION_LOSSES()
    resolved = _resolve(losses, who)
    given = None if x is None else V.real_array(who, x, "x", allow_bool=False).astype(float).reshape(-1)
    if given is not None and (given.size < 2 or not np.all(np.isfinite(given))):
        raise ValueError(f"{who}: x must hold at least 2 finite numbers")
    out: Dict[str, Curve] = {}
    for label, loss in resolved.items():
        if kind == "regression":
            xs = np.linspace(-3.0, 3.0, steps) if given is None else given
            target = 1.0 if y_true is None else float(y_true)
            value, deriv = _value_and_derivative(loss, np.full(xs.size, target), target + xs)
        else:
            margin = is_margin_loss(label, loss)
            xs = (np.linspace(-2.0, 3.0, steps) if margin else np.linspace(0.01, 0.99, steps)) if given is None \
                else given
            value, deriv = _value_and_derivative(loss, np.full(xs.size, 1.0 if y_true is None else float(y_true)),
                                                 xs)
        out[label] = (xs.copy(), value, deriv)
    return out


# --- surfaces of a function of a 2-vector ------------------------------------------------------

def _grid(xlim: Sequence[float], ylim: Sequence[float], steps: Any, who: str) -> Tuple[np.ndarray, np.ndarray]:
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if not (isinstance(lim, (tuple, list)) or isinstance(lim, np.ndarray) and lim.shape == (2,)) or len(lim) != 2:
            raise TypeError(f"{who}: {name} must be a pair (low, high) of numbers, got {V.show(lim)}")
        lo, hi = (V.number(who, name, v) for v in lim)
        if not lo < hi:
            raise ValueError(f"{who}: {name} must be finite with low < high, got {lim!r}")
    if not isinstance(steps, (numbers.Integral, tuple, list)) or not isinstance(steps, numbers.Integral) and len(steps) != 2:
        raise TypeError(f"{who}: steps must be an int >= 2 or a pair of them, got {V.show(steps)}")
    nx, ny = (steps, steps) if isinstance(steps, numbers.Integral) else tuple(steps)
    for n in (nx, ny):
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 2:
            raise ValueError(f"{who}: steps must be an int >= 2 or a pair of them, got {steps!r}")
    return np.meshgrid(np.linspace(*map(float, xlim), int(nx)), np.linspace(*map(float, ylim), int(ny)))


def _as_array(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if isinstance(value, Tensor) else value, dtype=float)


def _batched_works(fn: Callable, points: np.ndarray) -> bool:
    """Does ``fn`` map a ``(k, 2)`` batch to the ``k`` values it gives for each point alone?"""
    single = np.array([_as_array(fn(Tensor(p, dtype=np.float64))).reshape(()) for p in points])
    try:
        batched = _as_array(fn(Tensor(points, dtype=np.float64)))
    except Exception:  # a function written for one 2-vector (w[0], w[1]) may fail on a batch
        return False
    return batched.shape == (len(points),) and np.allclose(batched, single, rtol=1e-9, atol=1e-12, equal_nan=True)


def loss_surface(fn: Callable[[Tensor], Any], xlim: Sequence[float], ylim: Sequence[float],
                 steps: Any = 101) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(X, Y, Z)`` on a grid, with ``Z[i, j] = fn([X[i, j], Y[i, j]])`` (``np.meshgrid``'s
    convention: ``X`` varies along columns, ``Y`` along rows; ``steps`` is one count or ``(nx, ny)``).

    ``fn`` receives a float64 Tensor whose last axis has size 2 and returns the loss over the
    leading axes (write ``w[..., 0]``, ``w[..., 1]``), so the whole grid is one call. A function
    that only takes a single 2-vector (``w[0]``, ``w[1]``, or a scalar ``.sum()``) is detected
    by a probe on three points and evaluated point by point instead.
    """
    who = "loss_surface"
    if not callable(fn):
        raise TypeError(f"{who}: fn must be callable, got {type(fn).__name__}")
    X, Y = _grid(xlim, ylim, steps, who)
    points = np.stack([X, Y], axis=-1)
    probe = points.reshape(-1, 2)[[0, -1, X.size // 2 + 1]]
    with no_grad():
        if _batched_works(fn, probe):
            Z = _as_array(fn(Tensor(points.reshape(-1, 2), dtype=np.float64)))
        else:
            Z = np.array([_as_array(fn(Tensor(p, dtype=np.float64))).reshape(()) for p in points.reshape(-1, 2)])
    if Z.size != X.size:
        raise ValueError(f"{who}: fn returned {Z.size} values for a grid of {X.size} points")
    return X, Y, Z.reshape(X.shape)


# --- a model's loss along two directions ---------------------------------------------------------

def filter_normalized_direction(weights: Sequence[np.ndarray], rng: np.random.Generator) -> List[np.ndarray]:
    """A random Gaussian direction, one array per weight, filter-normalised as in Li et al.,
    "Visualizing the Loss Landscape of Neural Nets" (NeurIPS 2018): every filter of the direction
    gets the norm of the same filter of the weights. A filter is a slice along the last axis (one
    output unit of a ``(inputs, units)`` kernel). Biases and other 1-D weights get a zero
    direction, as in the authors' default."""
    who = "filter_normalized_direction"
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"{who}: weights must be a list of arrays, got {V.show(weights)}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{who}: rng must be a numpy.random.Generator, got {V.show(rng)}")
    weights = [V.real_array(who, w, "weights", allow_bool=False).astype(float) for w in weights]
    out = []
    for w in weights:
        if w.ndim < 2:
            out.append(np.zeros_like(w))
            continue
        d = rng.standard_normal(w.shape)
        axes = tuple(range(w.ndim - 1))
        w_norm = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))
        d_norm = np.sqrt(np.sum(d * d, axis=axes, keepdims=True))
        out.append(d * w_norm / np.where(d_norm > 0, d_norm, 1.0))
    return out


def _named_weight(model: Any, spec: Any, who: str) -> Tuple[Tensor, Tuple[int, ...]]:
    """``(parameter, index)`` for a ``(Tensor or name, index)`` pair naming one weight."""
    try:
        param, index = spec
    except (TypeError, ValueError):
        raise ValueError(f"{who}: each named weight must be a pair (parameter or its name, index), got {spec!r}") \
            from None
    if isinstance(param, str):
        names = dict(model.named_parameters())
        names.update(dict(model.named_weights()) if hasattr(model, "named_weights") else {})
        if param not in names:
            raise ValueError(f"{who}: the model has no parameter {param!r}; it has {sorted(names)}")
        param = names[param]
    if not any(param is p for p in model.parameters()):
        raise ValueError(f"{who}: {getattr(param, 'name', param)!r} is not a parameter of the model")
    index = tuple(np.atleast_1d(index).tolist()) if not isinstance(index, tuple) else index
    try:
        np.zeros(param.shape)[index].item()
    except (IndexError, ValueError, TypeError):
        raise ValueError(f"{who}: index {index} does not name one entry of a weight of shape {param.shape}") from None
    return param, index


def _model_loss(model: Any, x: Any, y: Any, loss: Callable) -> float:
    """The loss of the model in inference mode (dropout off, batch-norm statistics fixed), when its
    forward takes ``training``: a surface must not change from one evaluation to the next."""
    forward = getattr(model, "forward", None)
    takes_training = forward is not None and "training" in inspect.signature(forward).parameters
    prediction = model(x, training=False) if takes_training else model(x)
    return float(_as_array(loss(y, prediction)).sum())


def model_loss_surface(model: Any, x: Any, y: Any, loss: Any = "mse", directions: Any = "filter-normalized",
                       span: float = 1.0, steps: Any = 41, seed: int = 0, xlim: Optional[Sequence[float]] = None,
                       ylim: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss of ``model`` on ``(x, y)`` over a plane through its current weights: ``(A, B, Z)``.

    ``directions="filter-normalized"``: the weights move to ``w + a d1 + b d2`` with two random
    filter-normalised directions (:func:`filter_normalized_direction`, from ``seed``); ``a`` and
    ``b`` run over ``[-span, span]``. ``directions=[(param, index), (param, index)]``: the two
    named weights (a parameter Tensor or its name, and an index such as ``(0, 0)``) take the values
    ``A[i, j]`` and ``B[i, j]``, every other weight stays as it is; the grid is the current value
    ``± span`` unless ``xlim``/``ylim`` are given. ``loss`` is anything ``compile`` accepts.
    The model's weights are restored afterwards, whatever happens.
    """
    who = "model_loss_surface"
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    if not params:
        raise ValueError(f"{who}: the model has no parameters (build it first: input_shape=..., or call it once)")
    try:
        loss_fn = _losses.get(loss)
    except (TypeError, ValueError) as e:
        raise V.renamed(e, f"{who}: loss", ("losses.get",)) from None
    if not callable(loss_fn):
        raise TypeError(f"{who}: loss must be a loss name, a Loss or a callable, got {type(loss).__name__}")
    span = V.number(who, "span", span, lo=0.0, lo_open=True)
    seed = V.integer(who, "seed", seed, lo=0)
    x, y = V.real_array(who, x, "x"), V.real_array(who, y, "y")
    if not isinstance(directions, (str, list, tuple)):
        raise TypeError(f"{who}: directions must be 'filter-normalized' or two (weight, index) pairs, "
                        f"got {V.show(directions)}")
    saved = [p.data.copy() for p in params]
    if isinstance(directions, str):
        if directions not in ("filter-normalized", "filter-normalised"):
            raise ValueError(f"{who}: directions must be 'filter-normalized' or two (weight, index) pairs, "
                             f"got {directions!r}")
        rng = np.random.default_rng(seed)
        d1, d2 = filter_normalized_direction(saved, rng), filter_normalized_direction(saved, rng)
        A, B = _grid((-span, span) if xlim is None else xlim, (-span, span) if ylim is None else ylim, steps, who)

        def place(a: float, b: float) -> None:
            for p, w, u, v in zip(params, saved, d1, d2):
                p.data[...] = w + a * u + b * v
    else:
        pairs = list(directions)
        if len(pairs) != 2:
            raise ValueError(f"{who}: directions must name exactly two weights, got {len(pairs)}")
        (p1, i1), (p2, i2) = (_named_weight(model, s, who) for s in pairs)
        c1, c2 = float(p1.data[i1]), float(p2.data[i2])
        A, B = _grid((c1 - span, c1 + span) if xlim is None else xlim, (c2 - span, c2 + span) if ylim is None else ylim,
                     steps, who)

        def place(a: float, b: float) -> None:
            p1.data[i1], p2.data[i2] = a, b
    Z = np.empty(A.shape)
    try:
        with no_grad():
            for idx in np.ndindex(A.shape):
                place(A[idx], B[idx])
                Z[idx] = _model_loss(model, x, y, loss_fn)
    finally:
        for p, w in zip(params, saved):
            p.data[...] = w
    return A, B, Z


# --- optimizer trajectories ----------------------------------------------------------------------

def optimizer_paths(fn: Callable[[Tensor], Any], start: Sequence[float], optimizers: Mapping[str, Callable],
                    steps: int = 100, **optimizer_kwargs: Any) -> Dict[str, np.ndarray]:
    """Run each optimizer on ``fn`` from the same ``start``: ``{name: (steps + 1, 2) array}``.

    ``fn`` takes a Tensor of shape ``(2,)`` and returns a scalar loss (the function given to
    :func:`loss_surface` works). ``optimizers`` maps a name to an optimizer class or any callable
    ``make(params, **kwargs)`` returning one (``functools.partial(SGD, momentum=0.9)``);
    ``optimizer_kwargs`` (``learning_rate=...``) go to every one. Each step is ``zero_grad``,
    ``fn(w).backward()``, ``step()``: exactly the loop one writes by hand. Row 0 is the start.
    """
    who = "optimizer_paths"
    if not callable(fn):
        raise TypeError(f"{who}: fn must be callable, got {type(fn).__name__}")
    w0 = V.real_array(who, start, "start", allow_bool=False).astype(float)
    if w0.shape != (2,) or not np.all(np.isfinite(w0)):
        raise ValueError(f"{who}: start must be 2 finite numbers, got {start!r}")
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"{who}: steps must be an int >= 1, got {steps!r}")
    if not isinstance(optimizers, Mapping) or not optimizers:
        raise TypeError(f"{who}: optimizers must be a non-empty dict {{name: optimizer class}}, "
                        f"got {type(optimizers).__name__}")
    for name, make in optimizers.items():
        if not callable(make):
            raise TypeError(f"{who}: optimizers[{name!r}] must be an optimizer class or a callable, "
                            f"got {type(make).__name__}")
    return {name: _trajectory(fn, w0, make, int(steps), optimizer_kwargs, f"{who}: optimizers[{name!r}]")
            for name, make in optimizers.items()}


def _trajectory(fn: Callable, w0: np.ndarray, make: Callable, steps: int, kwargs: Dict[str, Any],
                who: str) -> np.ndarray:
    w = Tensor(w0.copy(), requires_grad=True, dtype=np.float64)
    opt = make([w], **kwargs)
    if not (hasattr(opt, "step") and hasattr(opt, "zero_grad")):
        raise TypeError(f"{who} made a {type(opt).__name__}, not an optimizer (no step/zero_grad)")
    path = np.empty((steps + 1, 2))
    path[0] = w0
    for k in range(1, steps + 1):
        opt.zero_grad()
        value = fn(w)
        if not isinstance(value, Tensor) or value.size != 1:
            raise TypeError(f"{who}: fn must return a scalar Tensor built from its argument, got "
                            f"{type(value).__name__} of shape {getattr(value, 'shape', ())}")
        value.sum().backward()
        opt.step()
        path[k] = w.numpy()
    return path
