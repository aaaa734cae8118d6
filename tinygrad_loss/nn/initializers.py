"""Weight initializers with Keras's formulas, drawn from the project's one generator.

An initializer is called as ``init(shape, dtype) -> np.ndarray``. Every random draw goes
through :func:`tinygrad_loss.creation.get_generator`, so ``manual_seed(s)`` fixes the
weights of every layer built afterwards.

Variance scaling (Keras): with ``fan_in, fan_out = shape[0], shape[1]`` for a Dense kernel,
``n = fan_in`` / ``fan_out`` / ``(fan_in + fan_out) / 2`` by ``mode`` and ``s = scale / max(1, n)``:

* ``"uniform"``: U(-√(3s), √(3s))
* ``"truncated_normal"``: N(0, σ²) with σ = √s / 0.87962566103423978, redrawn outside ±2σ
  (the constant is the std of a unit normal truncated at ±2, so the result has variance s)
* ``"untruncated_normal"``: N(0, s)

=================  =====  ========  ================
name               scale  mode      distribution
=================  =====  ========  ================
glorot_uniform     1      fan_avg   uniform  (limit √(6/(fan_in+fan_out)))
glorot_normal      1      fan_avg   truncated_normal
he_uniform         2      fan_in    uniform  (limit √(6/fan_in))
he_normal          2      fan_in    truncated_normal
lecun_uniform      1      fan_in    uniform
lecun_normal       1      fan_in    truncated_normal
=================  =====  ========  ================
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .. import creation
from ..tensor import get_default_dtype

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "get", "serialize", "deserialize", "compute_fans", "TRUNCATED_STD",
]

TRUNCATED_STD = 0.87962566103423978
"""Standard deviation of a standard normal truncated to [-2, 2]."""

Shape = Tuple[int, ...]


def compute_fans(shape: Sequence[int]) -> Tuple[int, int]:
    """``(fan_in, fan_out)``: a kernel ``(in, out)`` gives ``(in, out)``; a vector gives its length twice;
    a higher-rank kernel ``(..., in, out)`` multiplies both by the receptive field size."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _dtype(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def truncated_normal(shape: Shape, mean: float, stddev: float, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """N(mean, stddev²) samples, each redrawn until it lies within two standard deviations."""
    rng = creation.get_generator() if rng is None else rng
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


def _check_seed(owner: str, seed: Any) -> Optional[int]:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise ValueError(f"{owner}: seed must be None or a non-negative int, got {seed!r}")
    return None if seed is None else int(seed)


class Initializer:
    """Base: ``__call__(shape, dtype=None) -> np.ndarray``; ``get_config``/``from_config`` (Keras)."""

    seed: Optional[int] = None

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        raise NotImplementedError

    def _rng(self) -> np.random.Generator:
        """The project's generator (so ``manual_seed`` fixes the draw), or, when ``seed`` is given, a
        fresh generator from it: every call then draws the same values (a seeded Keras initializer)."""
        return creation.get_generator() if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self) -> Dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Initializer":
        """Rebuild from :meth:`get_config` output (Keras's extra keys are accepted when unset)."""
        try:
            known = cls().get_config()
        except TypeError:  # a custom initializer without defaults: take its config as given
            known = config
        extra = sorted(k for k, v in config.items() if k not in known and v is not None)
        if extra:
            raise ValueError(f"{cls.__name__}.from_config: unsupported settings {extra}")
        return cls(**{k: v for k, v in config.items() if k in known})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Constant(Initializer):
    """Every entry equal to ``value``."""

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return np.full(tuple(shape), self.value, dtype=_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"value": self.value}


class _Fixed(Constant):
    """A Constant whose value is part of its name (no configuration)."""

    VALUE = 0.0

    def __init__(self):
        super().__init__(self.VALUE)

    def get_config(self) -> Dict[str, Any]:
        return {}


class Zeros(_Fixed):
    VALUE = 0.0


class Ones(_Fixed):
    VALUE = 1.0


class RandomNormal(Initializer):
    """N(mean, stddev²); Keras defaults mean 0, stddev 0.05."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None):
        if stddev < 0:
            raise ValueError(f"{type(self).__name__}: stddev must be >= 0, got {stddev}")
        self.mean, self.stddev = float(mean), float(stddev)
        self.seed = _check_seed(type(self).__name__, seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return (self.mean + self.stddev * self._rng().standard_normal(tuple(shape))).astype(_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev²) redrawn outside mean ± 2·stddev; Keras defaults mean 0, stddev 0.05."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return truncated_normal(tuple(shape), self.mean, self.stddev, self._rng()).astype(_dtype(dtype))


class RandomUniform(Initializer):
    """U(minval, maxval); Keras defaults -0.05, 0.05."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Optional[int] = None):
        if not minval < maxval:
            raise ValueError(f"RandomUniform: need minval < maxval, got {minval} and {maxval}")
        self.minval, self.maxval = float(minval), float(maxval)
        self.seed = _check_seed("RandomUniform", seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        return self._rng().uniform(self.minval, self.maxval, tuple(shape)).astype(_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n`` where ``n`` is fan_in, fan_out or their mean (see module doc)."""

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: Optional[int] = None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {self.MODES}, got {mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of {self.DISTRIBUTIONS}, got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.seed = _check_seed(type(self).__name__, seed)

    def variance(self, shape: Sequence[int]) -> float:
        """The target variance ``scale / max(1, n)`` for this shape."""
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        shape = tuple(shape)
        s = self.variance(shape)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            out = rng.uniform(-limit, limit, shape)
        elif self.distribution == "truncated_normal":
            out = truncated_normal(shape, 0.0, math.sqrt(s) / TRUNCATED_STD, rng)
        else:
            out = math.sqrt(s) * rng.standard_normal(shape)
        return out.astype(_dtype(dtype))

    def get_config(self) -> Dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


class _Preset(VarianceScaling):
    """A VarianceScaling with a fixed (scale, mode, distribution): the named Keras initializers."""

    PRESET: Tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: Optional[int] = None):
        super().__init__(*self.PRESET, seed=seed)

    def get_config(self) -> Dict[str, Any]:
        return {"seed": self.seed}


def _preset(name: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    return type(name, (_Preset,), {"PRESET": (scale, mode, distribution), "__doc__": doc, "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "U(-limit, limit), limit = √(6 / (fan_in + fan_out)). The Dense kernel default.")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal with variance 2 / (fan_in + fan_out).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "U(-limit, limit), limit = √(6 / fan_in).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal with variance 2 / fan_in.")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "U(-limit, limit), limit = √(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal", "Truncated normal with variance 1 / fan_in.")

_BY_NAME: Dict[str, type] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
}
for _cls in list(_BY_NAME.values()):
    _BY_NAME[_cls.__name__] = _cls
_BY_NAME.update(xavier_uniform=GlorotUniform, xavier_normal=GlorotNormal, uniform=RandomUniform, normal=RandomNormal)


def get(identifier: Union[str, Initializer, Callable, None]) -> Callable[..., np.ndarray]:
    """An initializer from a name (``"glorot_uniform"``, ``"HeNormal"``...), an instance or a callable."""
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            names = ", ".join(sorted(k for k in _BY_NAME if k.islower()))
            raise ValueError(f"initializers.get: unknown initializer {identifier!r}; valid names are: {names}")
        return cls()
    if isinstance(identifier, dict):  # Keras's serialized form
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"initializers.get: expected a name, an Initializer or a callable, got {identifier!r}")


def serialize(initializer: Any) -> Dict[str, Any]:
    """Keras's serialisation: ``{"module": "keras.initializers", "class_name": ..., "config": ...}``."""
    if not isinstance(initializer, Initializer):
        raise TypeError(f"initializers.serialize: only Initializer objects can be saved, got {initializer!r} (write an "
                        "Initializer subclass with get_config to save a custom initializer)")
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Initializer:
    """The initializer described by :func:`serialize` output (or a name); ``custom_objects`` maps class
    names to your own Initializer subclasses."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"initializers.deserialize: expected a dict with a class_name, got {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"initializers.deserialize: unknown initializer {name!r} (pass custom_objects={{{name!r}: "
                         "YourClass}} for your own)")
    return cls.from_config(dict(config.get("config") or {}))
