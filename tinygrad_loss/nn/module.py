"""Module: the base of every layer and model.

A Module owns parameters (Tensors with ``requires_grad=True``) and sub-modules, both
registered simply by assigning them as attributes, as in PyTorch::

    class TwoLayer(Module):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(8, activation="relu")
            self.out = Dense(1)

        def forward(self, x):
            return self.out(self.hidden(x))

Layers (and trainable Tensors) held in a list, tuple or dict attribute are tracked too, as in
Keras (``self.blocks = [Dense(8), Dense(1)]`` gives ``"blocks.0.kernel"``...; PyTorch would need
``nn.ModuleList``).

Calling a module runs ``forward`` (or Keras's spelling, ``call``) under a name scope with
the module's name, so every op it records carries that scope and the graph renderer can
draw the layer as one labelled group. Names are unique and Keras-like: the first Dense is
``"dense"``, the next ``"dense_1"``...
"""
from __future__ import annotations

import os
import re
from collections import defaultdict
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from .._io import atomic_write
from ..autograd import name_scope
from ..tensor import Tensor

__all__ = ["Module", "unique_name", "clear_session"]

_NAME_COUNTS: Dict[str, int] = defaultdict(int)


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``... (Keras's automatic layer names)."""
    n = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


def clear_session() -> None:
    """Reset the automatic names, so the next Dense is called ``"dense"`` again (``keras.backend.clear_session``)."""
    _NAME_COUNTS.clear()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _check_name(owner: str, name: Any) -> str:
    if not isinstance(name, str) or not name or "/" in name or "." in name:
        raise ValueError(f"{owner}: name must be a non-empty string without '/' or '.', got {name!r}")
    return name


class Module:
    """Base class: parameters, sub-modules, train/eval mode, name scope on call."""

    def __init__(self, name: Optional[str] = None):
        d = self.__dict__
        d["_parameters"] = {}
        d["_modules"] = {}
        d["_containers"] = []  # attributes holding a list/tuple/dict (their layers are tracked, as in Keras)
        d["training"] = True
        d["name"] = _check_name(type(self).__name__, name) if name is not None else unique_name(
            _snake(type(self).__name__))

    # --- registration ---------------------------------------------------------------------
    def __setattr__(self, key: str, value: Any) -> None:
        d = self.__dict__
        if "_modules" not in d:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        d["_parameters"].pop(key, None)
        d["_modules"].pop(key, None)
        if key in d["_containers"]:
            d["_containers"].remove(key)
        if isinstance(value, Module):
            d["_modules"][key] = value
        elif isinstance(value, Tensor) and value.requires_grad:
            d["_parameters"][key] = value
        elif isinstance(value, (list, tuple, dict)):
            d["_containers"].append(key)
        object.__setattr__(self, key, value)

    def __delattr__(self, key: str) -> None:
        self.__dict__["_parameters"].pop(key, None)
        self.__dict__["_modules"].pop(key, None)
        if key in self.__dict__["_containers"]:
            self.__dict__["_containers"].remove(key)
        object.__delattr__(self, key)

    def _held(self, kind: type) -> Dict[str, Any]:
        """Modules (or trainable Tensors) held in list/tuple/dict attributes, keyed ``"blocks.0"``,
        ``"heads.a"``: like Keras, ``self.blocks = [Dense(4), Dense(1)]`` registers both layers (in
        PyTorch this needs ``nn.ModuleList``). Read at each call, so a later ``append`` counts too."""
        out: Dict[str, Any] = {}
        for key in self.__dict__["_containers"]:
            value = self.__dict__.get(key)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for i, v in items:
                if isinstance(v, kind) and (kind is Module or v.requires_grad):
                    out[f"{key}.{i}"] = v
        return out

    def _children(self) -> Dict[str, "Module"]:
        """Directly assigned sub-modules, then those held in list/tuple/dict attributes."""
        if not self.__dict__["_containers"]:
            return self._modules
        return {**self._modules, **self._held(Module)}

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        return iter(self._children().items())

    def children(self) -> Iterator["Module"]:
        return iter(self._children().values())

    def _walk(self, prefix: str, structural: bool) -> List[Tuple[str, Tensor]]:
        seen = set()
        out: List[Tuple[str, Tensor]] = []

        def visit(pre: str, mod: Module) -> None:
            params = mod._parameters
            if mod.__dict__["_containers"]:
                params = {**params, **mod._held(Tensor)}
            for k, p in params.items():
                if id(p) not in seen:  # a parameter shared by two modules is listed once
                    seen.add(id(p))
                    out.append((pre + k, p))
            children = mod._weight_children() if structural else mod._children()
            for k, m in children.items():
                visit(pre + k + ".", m)

        visit(prefix + "." if prefix else "", self)
        return out

    def named_parameters(self, prefix: str = "") -> Iterator[Tuple[str, Tensor]]:
        """``(dotted name, parameter)`` pairs: own parameters first, then each sub-module's, in
        registration order (``"dense.kernel"``, ``"dense.bias"``, ``"dense_1.kernel"``...)."""
        return iter(self._walk(prefix, structural=False))

    def _weight_children(self) -> Dict[str, "Module"]:
        """Sub-modules keyed by names that depend only on this module's structure (attribute
        names here; Sequential numbers its layers locally, as Keras 3 weight files do)."""
        return self._children()

    def named_weights(self) -> List[Tuple[str, Tensor]]:
        """``(path, parameter)`` with structural paths: the keys of :meth:`state_dict` and of weight
        files. Two models built the same way have the same paths, whatever their layers' global
        names (``dense_7``...) are."""
        return self._walk("", structural=True)

    def parameters(self) -> List[Tensor]:
        """Every parameter (each once), in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    @property
    def weights(self) -> List[Tensor]:
        """Keras's name for :meth:`parameters`."""
        return self.parameters()

    trainable_weights = weights
    # Keras's names for a TensorFlow-style loop: ``tape.gradient(loss, model.trainable_variables)``.
    # Every registered parameter requires a gradient, so all are trainable (the same objects as parameters()).
    variables = weights
    trainable_variables = weights

    @property
    def non_trainable_variables(self) -> List[Tensor]:
        """Always empty: a Module registers only Tensors that require a gradient."""
        return []

    def count_params(self) -> int:
        return int(sum(p.size for p in self.parameters()))

    def zero_grad(self) -> None:
        """Forget the gradient of every parameter (``grad = None``)."""
        for p in self.parameters():
            p.grad = None

    # --- modes ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active) for this module and all sub-modules; returns self."""
        self.__dict__["training"] = bool(mode)
        for m in self._children().values():
            m.train(mode)
        return self

    def eval(self) -> "Module":
        """Inference mode (dropout off); same as ``train(False)``."""
        return self.train(False)

    # --- calling --------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation. Override this (PyTorch spelling) or ``call`` (Keras spelling)."""
        call = getattr(type(self), "call", None)
        if call is None:
            raise NotImplementedError(f"{type(self).__name__} must define forward(...) or call(...)")
        return call(self, *args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with name_scope(self.name):
            return self.forward(*args, **kwargs)

    # --- weights as arrays ----------------------------------------------------------------
    def get_weights(self) -> List[np.ndarray]:
        """Copies of the parameter arrays, in :meth:`parameters` order (Keras)."""
        return [p.data.copy() for p in self.parameters()]

    def set_weights(self, weights: List[Any]) -> None:
        """Overwrite the parameters, in order, with ``weights`` (checked first: all or nothing)."""
        params = self.parameters()
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"set_weights: {self.name} has {len(params)} weight arrays, got {len(weights)}")
        arrays = []
        for (n, p), w in zip(self.named_parameters(), weights):
            a = np.asarray(w.data if isinstance(w, Tensor) else w)
            if a.shape != p.shape:
                raise ValueError(f"set_weights: weight {n!r} has shape {p.shape}, got an array of shape {a.shape}")
            arrays.append(a)
        for p, a in zip(params, arrays):
            p.data[...] = a

    def state_dict(self) -> Dict[str, np.ndarray]:
        """``{structural path: array copy}`` (see :meth:`named_weights`)."""
        return {n: p.data.copy() for n, p in self.named_weights()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Load arrays by path; names and shapes must match exactly (checked before any change)."""
        self._assign_by_name(dict(state), "load_state_dict")

    def _assign_by_name(self, state: Dict[str, Any], fn: str) -> None:
        named = dict(self.named_weights())
        if not named:
            raise ValueError(f"{fn}: {self.name} has no parameters yet; build it first (give the first layer "
                             "input_shape=..., or call the model once on data)")
        missing = sorted(set(named) - set(state))
        extra = sorted(set(state) - set(named))
        if missing or extra:
            raise ValueError(f"{fn}: the weights do not match {self.name}: missing {missing or 'none'}, "
                             f"unexpected {extra or 'none'}")
        arrays = {}
        for n, p in named.items():
            a = np.asarray(state[n])
            if a.shape != p.shape:
                raise ValueError(f"{fn}: weight {n!r} has shape {a.shape} but {self.name} expects {p.shape}")
            arrays[n] = a
        for n, p in named.items():
            p.data[...] = arrays[n]

    def save_weights(self, path: str) -> None:
        """Write every parameter to an ``.npz`` file, atomically (temporary file, then rename)."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise ValueError(f"save_weights: the file name must end in .npz, got {path!r}")
        arrays = self.state_dict()
        if not arrays:
            raise ValueError(f"save_weights: {self.name} has no parameters yet; build it first")
        with atomic_write(path) as f:
            np.savez(f, **arrays)

    def load_weights(self, path: str) -> None:
        """Read weights written by :meth:`save_weights`. Names and shapes must match; on any
        mismatch a ValueError explains it and no parameter is changed."""
        path = os.fspath(path)
        try:
            loaded = np.load(path, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not named weights")
            with loaded as f:
                state = {k: f[k] for k in f.files}
        except FileNotFoundError:
            raise FileNotFoundError(f"load_weights: no such file: {path!r}") from None
        except (ValueError, OSError) as e:
            raise ValueError(f"load_weights: {path!r} is not a weights file written by save_weights ({e})") from None
        self._assign_by_name(state, "load_weights")

    def __repr__(self) -> str:
        kids = "".join(f"\n  ({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._children().items())
        return f"{type(self).__name__}(name={self.name!r}){kids}"
