"""Keras 3's HDF5 weights layout (``model.weights.h5`` in a ``.keras`` archive, or ``x.weights.h5``).

Each module's own variables are datasets ``"0"``, ``"1"``... of a group ``<path>/vars``, in the
order the module created them (Dense: kernel, bias; BatchNormalization: gamma, beta,
moving_mean, moving_variance). A Sequential or functional model's layers are at
``layers/<class name, numbered within the model>`` (``layers/dense``, ``layers/dense_1``); a
sub-module held as an attribute is at ``<attribute>``. The optimizer's variables are
``optimizer/vars``: the step count, the learning rate, then its per-weight slots in Keras's order.
"""
from __future__ import annotations

import io
import os
from typing import Any, Dict, List, Tuple

import numpy as np

from .. import optim
from .._io import write_atomic
from ..nn.functional import Functional
from ..nn.layers import InputLayer
from ..nn.model import Sequential, numbered_by_class
from ..nn.module import Module
from ..tensor import Tensor
from .config import FormatError

__all__ = ["save_weights_h5", "load_weights_h5", "write_h5", "read_h5"]


def h5py_module() -> Any:
    try:
        import h5py
    except ImportError:
        raise ImportError("Keras weight files need h5py: pip install 'tinygrad_loss[keras]'") from None
    return h5py


def _children(mod: Module) -> Dict[str, Module]:
    if isinstance(mod, (Sequential, Functional)):  # Keras lists a Sequential's layers without its input
        layers = [l for l in mod.layers if not (isinstance(mod, Sequential) and isinstance(l, InputLayer))]
        return {f"layers/{k}": v for k, v in numbered_by_class(layers).items()}
    out = dict(mod._modules)
    for key in mod._containers:
        held = [v for v in (getattr(mod, key).values() if isinstance(getattr(mod, key), dict) else getattr(mod, key))
                if isinstance(v, Module)]
        out.update({f"{key}/{k}": v for k, v in numbered_by_class(held).items()})
    return out


def weight_groups(model: Module) -> List[Tuple[str, Module, List[Tensor]]]:
    """``(path, module, its own variables)`` for the model and every sub-module, each module once."""
    out, seen = [], set()

    def visit(path: str, mod: Module) -> None:
        if id(mod) in seen:
            return
        seen.add(id(mod))
        own = list({**mod._weights, **mod._held(Tensor)}.values()) if mod._containers else list(mod._weights.values())
        out.append((path, mod, own))
        for k, child in _children(mod).items():
            visit(f"{path}/{k}" if path else k, child)

    visit("", model)
    return out


_SLOT_GROUPS = [(optim.Adam, [("momentum", "velocity"), ("velocity_hat",)]),
                (optim.RMSprop, [("velocity",), ("momentum",), ("average_gradient",)])]


def optimizer_arrays(opt: optim.Optimizer) -> List[np.ndarray]:
    """Keras's optimizer variables: iterations, learning rate (unless a schedule), then the slots: for
    each group of slots Keras creates together, each weight's slots of that group."""
    arrays = [np.array(opt.iterations, dtype=np.int64)]
    if not callable(opt.learning_rate):
        arrays.append(np.array(opt.learning_rate, dtype=np.float32))
    groups = next((g for cls, g in _SLOT_GROUPS if isinstance(opt, cls)), [(s,) for s in opt.slots])
    for group in groups:
        for st in opt.state:
            arrays.extend(st[s] for s in group if s in st)
    return arrays


def _vars(grp: Any, where: str) -> List[np.ndarray]:
    keys = sorted(grp.keys(), key=lambda k: int(k) if str(k).isdigit() else -1)
    if [str(k) for k in keys] != [str(i) for i in range(len(keys))]:
        raise FormatError(f"{where}: expected datasets named 0, 1, ..., found {list(grp.keys())}")
    arrays = []
    for k in keys:
        arr = np.asarray(grp[k][()])
        if arr.dtype.kind not in "biuf":
            raise FormatError(f"{where}/{k}: not a numeric array (dtype {arr.dtype})")
        arrays.append(arr)
    return arrays


def write_h5(model: Module, f: Any) -> None:
    """Write the model's variables (and its optimizer's, once bound) into the open h5py File ``f``."""
    for path, mod, own in weight_groups(model):
        grp = f.create_group(f"{path}/vars" if path else "vars")
        grp.attrs["name"] = mod.name
        for i, w in enumerate(own):
            grp.create_dataset(str(i), data=w.data)
    opt = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and opt is not None:
        grp = f.create_group("optimizer/vars")
        grp.attrs["name"] = opt.name
        for i, a in enumerate(optimizer_arrays(opt)):
            grp.create_dataset(str(i), data=a)


def _read_layers(model: Module, f: Any) -> List[Tuple[Tensor, np.ndarray]]:
    """Every (variable, array) pair, checked: counts, shapes, and no weights in the file left unused."""
    pairs, used = [], set()
    for path, mod, own in weight_groups(model):
        where = f"{path}/vars" if path else "vars"
        arrays = _vars(f[where], where) if where in f else []
        used.add(where)
        if len(arrays) != len(own):
            raise FormatError(f"layer {mod.name!r} ({where}) has {len(own)} variables but the file holds {len(arrays)}")
        for i, (w, a) in enumerate(zip(own, arrays)):
            if a.shape != w.shape:
                raise FormatError(f"{where}/{i} ({w.name}): the file holds shape {a.shape}, the model expects {w.shape}")
            pairs.append((w, a))
    extra = []
    f.visititems(lambda name, obj: extra.append(name) if name.endswith("vars") and len(obj) and name not in used
                 and not name.startswith("optimizer") else None)
    if extra:
        raise FormatError(f"the file holds weights this model does not have: {', '.join(sorted(extra))}")
    return pairs


def _read_optimizer(model: Module, f: Any) -> Any:
    """A function applying the file's optimizer variables (checked now, applied with the weights)."""
    opt = getattr(model, "optimizer", None)
    if "optimizer/vars" not in f or opt is None or not getattr(model, "compiled", False):
        return lambda: None
    arrays = _vars(f["optimizer/vars"], "optimizer/vars")
    n_fixed = 1 if callable(opt.learning_rate) else 2
    if len(arrays) <= n_fixed:  # the optimizer had not been used yet: only its step count and rate
        return lambda: _set_counters(opt, arrays)
    if not opt.params:
        opt.add_params(model.parameters())
    expected = optimizer_arrays(opt)
    if len(arrays) != len(expected) or any(a.shape != e.shape for a, e in zip(arrays[n_fixed:], expected[n_fixed:])):
        raise FormatError(f"optimizer/vars: the file's {len(arrays)} optimizer variables do not fit this "
                          f"{type(opt).__name__} ({len(expected)} expected)")

    def apply() -> None:
        for target, a in zip(optimizer_arrays(opt)[n_fixed:], arrays[n_fixed:]):
            target[...] = a
        _set_counters(opt, arrays)
    return apply


def _set_counters(opt: optim.Optimizer, arrays: List[np.ndarray]) -> None:
    opt.iterations = int(arrays[0])
    # the rate is stored in float32 (as Keras): keep the config's exact value unless the file's differs
    if len(arrays) > 1 and not callable(opt.learning_rate) and np.float32(opt.learning_rate) != arrays[1]:
        opt.learning_rate = float(arrays[1])


def read_h5(model: Module, f: Any) -> None:
    """Load every variable from the open h5py File ``f``: all checked first, then all assigned."""
    if not model.weights:
        raise ValueError(f"load_weights: {model.name} has no weights yet; build it first (give the first layer "
                         "input_shape=..., or call the model once on data)")
    pairs = _read_layers(model, f)
    apply_optimizer = _read_optimizer(model, f)
    for w, a in pairs:
        w.data[...] = a
    apply_optimizer()


def save_weights_h5(model: Module, path: str) -> None:
    """Write ``path`` (``*.weights.h5``) atomically in Keras's layout."""
    h5py = h5py_module()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_h5(model, f)
    write_atomic(path, buf.getvalue())


def load_weights_h5(model: Module, path: str) -> None:
    h5py = h5py_module()
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_weights: no such file: {path!r}")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"load_weights: {path!r} is not an HDF5 weights file ({e})") from None
    with f:
        try:
            read_h5(model, f)
        except FormatError as e:
            raise ValueError(f"load_weights: {path!r}: {e}") from None
