"""Keras 3's JSON serialisation of models, layers, optimizers, losses and metrics.

Every object is ``{"module": ..., "class_name": ..., "config": {...}, "registered_name": ...}``;
a layer adds ``build_config`` (its input shape), a functional model's layers add ``name`` and
``inbound_nodes`` (the symbolic tensors each call read, as ``[layer name, node index, tensor
index]``). Classes are found by name in fixed tables or in ``custom_objects``: never imported
from a module named in the file.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optim
from ..nn import layers as core, merging, normalization, reshaping
from ..nn.functional import Functional
from ..nn.model import Sequential
from ..tensor import get_default_dtype

__all__ = ["serialize_layer", "deserialize_layer", "model_config", "model_from_config", "FormatError"]

LAYERS = {cls.__name__: cls for cls in (
    core.InputLayer, core.Dense, core.Dropout, core.Activation, core.Embedding, reshaping.Flatten, reshaping.Reshape,
    merging.Add, merging.Concatenate, normalization.BatchNormalization, normalization.LayerNormalization)}
OPTIMIZERS = {cls.__name__: cls for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad)}
# Keras optimizer settings with no counterpart here, accepted at these values
_OPTIMIZER_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                       "loss_scale_factor": None, "gradient_accumulation_steps": None}


class FormatError(ValueError):
    """The file's content is not a model this project can rebuild (the message says why)."""


def _entry(module: str, obj: Any, config: Dict[str, Any], known: Dict[str, Any]) -> Dict[str, Any]:
    name = type(obj).__name__
    custom = known.get(name) is not type(obj)
    return {"module": type(obj).__module__ if custom else module, "class_name": name, "config": config,
            "registered_name": f"Custom>{name}" if custom else None}


def _resolve(kind: str, entry: Any, table: Dict[str, Any], custom_objects: Optional[Dict[str, Any]]) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise FormatError(f"expected a serialized {kind} (a dict with a class_name), got {str(entry)[:80]!r}")
    custom = custom_objects or {}
    for key in (entry.get("registered_name"), entry["class_name"]):
        if isinstance(key, str) and key in custom:
            return custom[key]
    cls = table.get(entry["class_name"])
    if cls is None:
        raise FormatError(f"unsupported {kind} {entry['class_name']!r}: this project implements "
                          f"{', '.join(sorted(table))}; pass custom_objects={{'{entry['class_name']}': YourClass}} for "
                          "your own classes")
    return cls


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, dict):  # Keras's DTypePolicy
        dtype = (dtype.get("config") or {}).get("name")
    return np.dtype(dtype or get_default_dtype()).name


def serialize_layer(layer: Any) -> Dict[str, Any]:
    config = layer.get_config()
    if not isinstance(layer, core.InputLayer):
        config["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                           "config": {"name": _dtype_name(config.get("dtype"))}, "registered_name": None}
    entry = _entry("keras.layers", layer, config, LAYERS)
    if getattr(layer, "built", False) and not isinstance(layer, core.InputLayer):
        shape = layer.input_shape
        entry["build_config"] = {"input_shape": [list(s) for s in shape] if isinstance(shape, list) else list(shape)}
    return entry


def deserialize_layer(entry: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    cls = _resolve("layer", entry, LAYERS, custom_objects)
    config = dict(entry.get("config") or {})
    if "dtype" in config:
        config["dtype"] = _dtype_name(config["dtype"])
    try:
        layer = cls.from_config(config)
    except (TypeError, ValueError) as e:
        raise FormatError(f"layer {config.get('name', cls.__name__)!r} ({cls.__name__}): {e}") from None
    shape = (entry.get("build_config") or {}).get("input_shape")
    if shape is not None and not layer.built and hasattr(layer, "_ensure_built"):
        shape = [tuple(s) for s in shape] if shape and isinstance(shape[0], list) else tuple(shape)
        layer._ensure_built(shape, np.dtype(layer.dtype or get_default_dtype()))
    return layer


# --- optimizers, losses, metrics ---------------------------------------------------------------

def serialize_optimizer(opt: optim.Optimizer) -> Dict[str, Any]:
    config = {"name": opt.name, **opt.get_config(), **_OPTIMIZER_DEFAULTS}
    lr = opt.learning_rate
    if isinstance(lr, optim.ExponentialDecay):
        config["learning_rate"] = {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
                                   "config": {"initial_learning_rate": lr.initial_learning_rate,
                                              "decay_steps": lr.decay_steps, "decay_rate": lr.decay_rate,
                                              "staircase": lr.staircase, "name": "ExponentialDecay"},
                                   "registered_name": None}
    elif callable(lr):
        raise ValueError(f"save: the optimizer's learning rate {lr!r} cannot be saved (use a number or ExponentialDecay)")
    return _entry("keras.optimizers", opt, config, OPTIMIZERS)


def deserialize_optimizer(entry: Any, custom_objects: Optional[Dict[str, Any]] = None) -> optim.Optimizer:
    cls = _resolve("optimizer", entry, OPTIMIZERS, custom_objects)
    config = dict(entry.get("config") or {})
    for k, default in _OPTIMIZER_DEFAULTS.items():
        if config.pop(k, default) != default:
            raise FormatError(f"optimizer {cls.__name__}: unsupported setting {k}={entry['config'][k]!r}")
    lr = config.get("learning_rate")
    if isinstance(lr, dict):
        sched = dict(lr.get("config") or {})
        if lr.get("class_name") != "ExponentialDecay":
            raise FormatError(f"unsupported learning-rate schedule {lr.get('class_name')!r}")
        sched.pop("name", None)
        config["learning_rate"] = optim.ExponentialDecay(**sched)
    try:
        return cls(**config)
    except (TypeError, ValueError) as e:
        raise FormatError(f"optimizer {cls.__name__}: {e}") from None


def _keyword_config(cls: Callable, config: Dict[str, Any]) -> Dict[str, Any]:
    """The config entries ``cls`` accepts; any other entry must be unset (None)."""
    params = inspect.signature(cls).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return config
    extra = sorted(k for k, v in config.items() if k not in params and v is not None)
    if extra:
        raise FormatError(f"{cls.__name__}: unsupported settings {extra}")
    return {k: v for k, v in config.items() if k in params}


def serialize_loss(spec: Any) -> Any:
    """What ``compile(loss=...)`` received: a name stays a name, a Loss is serialized, a function is named."""
    if isinstance(spec, (list, tuple)):
        return [serialize_loss(s) for s in spec]
    if isinstance(spec, str):
        return spec
    if isinstance(spec, losses_mod.Loss):
        return _entry("keras.losses", spec, spec.get_config(), {type(spec).__name__: type(spec)} if hasattr(
            losses_mod, type(spec).__name__) else {})
    name = getattr(spec, "__name__", None)
    if not name or name == "<lambda>":
        raise ValueError(f"save: the loss {spec!r} cannot be saved: give compile a loss name, a Loss or a named function")
    return name


def deserialize_loss(spec: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    if isinstance(spec, list):
        return [deserialize_loss(s, custom_objects) for s in spec]
    custom = custom_objects or {}
    if isinstance(spec, str):
        return custom.get(spec, spec)
    if isinstance(spec, dict):
        name = spec.get("class_name")
        cls = custom.get(spec.get("registered_name")) or custom.get(name) or getattr(losses_mod, str(name), None)
        if not (isinstance(cls, type) and issubclass(cls, losses_mod.Loss)):
            raise FormatError(f"unsupported loss {name!r}")
        return cls(**_keyword_config(cls, dict(spec.get("config") or {})))
    raise FormatError(f"cannot read the loss {str(spec)[:80]!r}")


def serialize_metrics(specs: Any) -> Any:
    if not specs:
        return None
    out = []
    for m in specs:
        if isinstance(m, str):
            out.append(m)
        elif isinstance(m, metrics_mod.Metric) and hasattr(m, "get_config"):
            out.append(_entry("keras.metrics", m, m.get_config(), {type(m).__name__: type(m)}))
        else:
            raise ValueError(f"save: the metric {m!r} cannot be saved: give compile metric names or Metric objects")
    return out


def deserialize_metrics(specs: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Optional[List[Any]]:
    if specs is None:
        return None
    if isinstance(specs, dict) or not isinstance(specs, list):
        raise FormatError(f"unsupported metrics {str(specs)[:80]!r} (a list is expected)")
    out = []
    for m in specs:
        if isinstance(m, str):
            out.append((custom_objects or {}).get(m, m))
            continue
        name = m.get("class_name") if isinstance(m, dict) else None
        cls = (custom_objects or {}).get(name) or getattr(metrics_mod, str(name), None)
        if not (isinstance(cls, type) and issubclass(cls, metrics_mod.Metric)):
            raise FormatError(f"unsupported metric {name or m!r}")
        out.append(cls(**_keyword_config(cls, dict(m.get("config") or {}))))
    return out
