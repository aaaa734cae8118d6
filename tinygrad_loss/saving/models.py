"""The ``config.json`` of a ``.keras`` archive: a Sequential or functional model, as Keras 3 writes it."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..nn.functional import Functional
from ..nn.layers import InputLayer, input_tensor
from ..nn.model import Sequential
from ..nn.symbolic import KerasTensor
from .config import (FormatError, deserialize_layer, deserialize_loss, deserialize_metrics, deserialize_optimizer,
                     serialize_layer, serialize_loss, serialize_metrics, serialize_optimizer)

__all__ = ["model_config", "model_from_config", "compile_from_config"]


def _policy(model: Any) -> Dict[str, Any]:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": model._param_dtype().name},
            "registered_name": None}


def _sequential_config(model: Sequential) -> Dict[str, Any]:
    layers = [serialize_layer(l) for l in model.layers]
    config: Dict[str, Any] = {"name": model.name, "trainable": True, "dtype": _policy(model), "layers": layers}
    entry = {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None}
    spec = model.input_spec
    if spec is not None:
        if not isinstance(model.layers[0], InputLayer):  # Keras always lists the input of a built Sequential
            layers.insert(0, {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                              "config": {"batch_shape": [None, *spec], "dtype": model._param_dtype().name,
                                         "sparse": False, "name": "input_layer"}})
        config["build_input_shape"] = [None, *spec]
        entry["build_config"] = {"input_shape": [None, *spec]}
    return entry


def _tensor_ref(t: KerasTensor, calls: Dict[int, int]) -> Dict[str, Any]:
    return {"class_name": "__keras_tensor__", "config": {"shape": list(t.shape), "dtype": t.dtype.name,
                                                         "keras_history": [t.name, calls.get(id(t.node), 0), t.index]}}


def _functional_config(model: Functional) -> Dict[str, Any]:
    calls: Dict[int, int] = {}
    per_layer: Dict[int, List[Any]] = {}
    for node in model._nodes:
        calls[id(node)] = len(per_layer.setdefault(id(node.layer), []))
        per_layer[id(node.layer)].append(node)
    layers = []
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": [[_tensor_ref(t, calls) for t in node.inputs] if isinstance(node.inputs, (list, tuple))
                      else _tensor_ref(node.inputs, calls)], "kwargs": dict(node.kwargs)}
            for node in per_layer.get(id(layer), [])]
        layers.append(entry)

    def refs(ts: List[KerasTensor], nested: bool) -> Any:
        out = [[t.name, calls.get(id(t.node), 0), t.index] for t in ts]
        return out if nested else out[0]

    config = {"name": model.name, "trainable": True, "layers": layers,
              "input_layers": refs(model._inputs, model._nested[0]),
              "output_layers": refs(model._outputs, model._nested[1])}
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
            "registered_name": "Functional", "build_config": {"input_shape": None}}


def model_config(model: Any) -> Dict[str, Any]:
    """Keras's serialisation of ``model``, with its ``compile_config`` when compiled."""
    if isinstance(model, Functional):
        entry = _functional_config(model)
    elif isinstance(model, Sequential):
        entry = _sequential_config(model)
    else:
        raise ValueError(f"save: whole-model saving supports Sequential and functional models, not the subclassed "
                         f"{type(model).__name__}; save its weights with save_weights('name.weights.h5')")
    if model.compiled:
        spec = model._compile_spec
        entry["compile_config"] = {
            "optimizer": serialize_optimizer(model.optimizer), "loss": serialize_loss(spec["loss"]),
            "loss_weights": None, "metrics": serialize_metrics(spec["metrics"]), "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
    return entry


def _sequential_from_config(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]]) -> Sequential:
    layers = [deserialize_layer(e, custom_objects) for e in config.get("layers", [])]
    model = Sequential(layers, name=config.get("name"))
    shape = config.get("build_input_shape")
    if shape is not None and not model.built:
        model(np.zeros((1,) + tuple(shape[1:]), dtype=model.layers[0].dtype or np.float32))
    return model


def _resolve_ref(ref: Any, made: Dict[Tuple[str, int], KerasTensor]) -> KerasTensor:
    if isinstance(ref, dict):
        ref = (ref.get("config") or {}).get("keras_history")
    if not isinstance(ref, list) or len(ref) != 3:
        raise FormatError(f"cannot read the tensor reference {str(ref)[:80]!r}")
    key = (ref[0], int(ref[1]))
    if key not in made:
        raise KeyError(key)
    return made[key]


def _call_args(node: Dict[str, Any], made: Dict[Tuple[str, int], KerasTensor]) -> Any:
    args = node.get("args") if isinstance(node, dict) else None
    if not isinstance(args, list) or len(args) != 1:
        raise FormatError(f"cannot read the layer call {str(node)[:120]!r}")
    arg = args[0]
    return [_resolve_ref(a, made) for a in arg] if isinstance(arg, list) else _resolve_ref(arg, made)


def _functional_from_config(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]]) -> Functional:
    made: Dict[Tuple[str, int], KerasTensor] = {}
    pending = []
    for entry in config.get("layers", []):
        layer = deserialize_layer(entry, custom_objects)
        name = entry.get("name", layer.name)
        if isinstance(layer, InputLayer):
            made[(name, 0)] = input_tensor(layer)
        else:
            pending.append([layer, name, list(entry.get("inbound_nodes") or []), 0])
    while pending:  # replay the calls whose inputs exist, until all are made
        progress = False
        for item in pending:
            layer, name, nodes, done = item
            while done < len(nodes):
                try:
                    args = _call_args(nodes[done], made)
                except KeyError:
                    break
                kwargs = {k: v for k, v in (nodes[done].get("kwargs") or {}).items() if v is not None}
                made[(name, done)] = layer(args, **kwargs)
                done += 1
                progress = True
            item[3] = done
        pending = [p for p in pending if p[3] < len(p[2])]
        if pending and not progress:
            raise FormatError(f"the layer calls of {', '.join(p[1] for p in pending)} read tensors no layer makes")

    def tensors(refs: Any) -> Tuple[Any, bool]:
        nested = isinstance(refs, list) and refs and isinstance(refs[0], list)
        try:
            ts = [_resolve_ref(r, made) for r in (refs if nested else [refs])]
        except KeyError as e:
            raise FormatError(f"the model's inputs/outputs name a tensor no layer makes: {e}") from None
        return (ts if nested else ts[0]), nested

    inputs, _ = tensors(config.get("input_layers"))
    outputs, _ = tensors(config.get("output_layers"))
    return Functional(inputs, outputs, name=config.get("name"))


def model_from_config(entry: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise FormatError("config.json does not describe a model (no config)")
    kind = entry.get("class_name")
    if kind == "Sequential":
        return _sequential_from_config(entry["config"], custom_objects)
    if kind in ("Functional", "Model"):
        return _functional_from_config(entry["config"], custom_objects)
    raise FormatError(f"unsupported model class {kind!r}: Sequential and functional models can be loaded (a "
                      "subclassed model needs its Python class: build it, then load_weights)")


def compile_from_config(model: Any, compile_config: Any, custom_objects: Optional[Dict[str, Any]] = None) -> None:
    if not isinstance(compile_config, dict):
        return
    optimizer = deserialize_optimizer(compile_config.get("optimizer"), custom_objects)
    loss = deserialize_loss(compile_config.get("loss"), custom_objects)
    model.compile(optimizer=optimizer, loss=loss, metrics=deserialize_metrics(compile_config.get("metrics"),
                                                                               custom_objects))
