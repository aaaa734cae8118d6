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
from collections.abc import Mapping
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from .. import _validate as V
from .._io import atomic_write
from ..autograd import STATE, name_scope
from ..tensor import Tensor

__all__ = ["Module", "unique_name", "clear_session"]

_NAME_COUNTS: Dict[str, int] = defaultdict(int)
# How many times a module's ``training`` flag was assigned (any module): ``fit`` puts the model back
# in training mode at an epoch's start only when this moved since it last did (docs/training.md).
_MODE_CHANGES = 0


def mode_changes() -> int:
    """A counter of assignments to any module's ``training`` flag (``train()``/``eval()`` or directly)."""
    return _MODE_CHANGES


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


def _holds_layers(items: tuple) -> bool:
    """Whether a tuple holds a Module or a Tensor: one that does not (a shape) never will, being immutable."""
    return any(isinstance(v, (Module, Tensor)) for v in items)


class Module:
    """Base class: weights, sub-modules, train/eval mode, name scope on call.

    Attribute tracking rule: assigning a *public* attribute (a name not starting with ``_``)
    registers a Module as a sub-module, a Tensor with ``requires_grad=True`` as a trainable
    weight, and a list/tuple/dict as a container whose Modules and trainable Tensors count too;
    any other value is plain state. Names starting with ``_`` are private and never tracked.
    Non-trainable weights (e.g. BatchNormalization's moving statistics) are created with
    :meth:`add_weight` ``(trainable=False)``, as in Keras.
    """

    #: (the name they were made for, {outer scope: the scope of this module's calls}); see ``_scope_in``
    _scopes: Tuple[Optional[str], Dict[str, str]] = (None, {})

    def __init__(self, name: Optional[str] = None):
        self._weights: Dict[str, Tensor] = {}
        self._modules: Dict[str, "Module"] = {}
        self._containers: List[str] = []  # attributes holding a list/tuple/dict (their layers are tracked)
        self.training = True
        self.name = _check_name(type(self).__name__, name) if name is not None else unique_name(
            _snake(type(self).__name__))

    # --- registration ---------------------------------------------------------------------
    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_"):
            object.__setattr__(self, key, value)
            return
        if key == "training":
            global _MODE_CHANGES
            _MODE_CHANGES += 1
        if "_modules" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        self._untrack(key)
        if isinstance(value, Module):
            self._modules[key] = value
        elif isinstance(value, Tensor) and value.requires_grad:
            self._weights[key] = value
        elif isinstance(value, (list, dict)) or (isinstance(value, tuple) and _holds_layers(value)):
            self._containers.append(key)
        object.__setattr__(self, key, value)

    def __delattr__(self, key: str) -> None:
        if not key.startswith("_"):
            self._untrack(key)
        object.__delattr__(self, key)

    def _untrack(self, key: str) -> None:
        self._weights.pop(key, None)
        self._modules.pop(key, None)
        if key in self._containers:
            self._containers.remove(key)

    def add_weight(self, name: str, value: Any, trainable: bool = True) -> Tensor:
        """Create a weight from the array ``value`` and set it as attribute ``name``. A non-trainable
        weight (``trainable=False``: no gradient, never seen by the optimizer) is still listed by
        :attr:`weights`, :meth:`get_weights`, :meth:`state_dict` and weight files (Keras)."""
        from .. import creation  # creation imports nothing from nn; local to keep module.py light
        arr = np.asarray(value)
        t = creation.tensor(arr, requires_grad=trainable, name=f"{self.name}.{name}", dtype=arr.dtype)
        self._untrack(name)
        self._weights[name] = t
        object.__setattr__(self, name, t)
        return t

    def _held(self, kind: type) -> Dict[str, Any]:
        """Modules (or trainable Tensors) held in list/tuple/dict attributes, keyed ``"blocks.0"``,
        ``"heads.a"``: like Keras, ``self.blocks = [Dense(4), Dense(1)]`` registers both layers (in
        PyTorch this needs ``nn.ModuleList``). Read at each call, so a later ``append`` counts too."""
        out: Dict[str, Any] = {}
        for key in self._containers:
            value = getattr(self, key, None)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for i, v in items:
                if isinstance(v, kind) and (kind is Module or v.requires_grad):
                    out[f"{key}.{i}"] = v
        return out

    def _children(self) -> Dict[str, "Module"]:
        """Directly assigned sub-modules, then those held in list/tuple/dict attributes."""
        if not self._containers:
            return self._modules
        return {**self._modules, **self._held(Module)}

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        return iter(self._children().items())

    def children(self) -> Iterator["Module"]:
        return iter(self._children().values())

    def _walk(self, prefix: str, structural: bool, trainable_only: bool) -> List[Tuple[str, Tensor]]:
        seen = set()
        out: List[Tuple[str, Tensor]] = []

        def visit(pre: str, mod: Module) -> None:
            own = {**mod._weights, **mod._held(Tensor)} if mod._containers else mod._weights
            for k, p in own.items():
                if id(p) not in seen and (p.requires_grad or not trainable_only):  # shared weights listed once
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
        return iter(self._walk(prefix, structural=False, trainable_only=True))

    def _weight_children(self) -> Dict[str, "Module"]:
        """Sub-modules keyed by names that depend only on this module's structure (attribute
        names here; Sequential numbers its layers locally, as Keras 3 weight files do)."""
        return self._children()

    def named_weights(self) -> List[Tuple[str, Tensor]]:
        """``(path, parameter)`` with structural paths: the keys of :meth:`state_dict` and of weight
        files. Two models built the same way have the same paths, whatever their layers' global
        names (``dense_7``...) are."""
        return self._walk("", structural=True, trainable_only=False)

    def parameters(self) -> List[Tensor]:
        """Every trainable weight (each once), in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    @property
    def weights(self) -> List[Tensor]:
        """Every weight, trainable and not (each once): own weights first, then each sub-module's (Keras)."""
        return [p for _, p in self._walk("", structural=False, trainable_only=False)]

    @property
    def trainable_weights(self) -> List[Tensor]:
        return self.parameters()

    @property
    def non_trainable_weights(self) -> List[Tensor]:
        return [p for p in self.weights if not p.requires_grad]

    # Keras's names for a TensorFlow-style loop: ``tape.gradient(loss, model.trainable_variables)``.
    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def count_params(self) -> int:
        """The number of scalars in every weight, trainable and not (Keras)."""
        return int(sum(p.size for p in self.weights))

    def zero_grad(self) -> None:
        """Forget the gradient of every parameter (``grad = None``)."""
        for p in self.parameters():
            p.grad = None

    # --- modes ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active) for this module and all sub-modules; returns self."""
        # fit calls this every epoch: a plain bool skips the check (and building its message), and
        # the same bool as before skips the tracking __setattr__ (it would untrack nothing)
        if mode is not True and mode is not False:
            mode = V.boolean(f"{self.name}.train", "mode", mode)
        if self.__dict__.get("training") is not mode:
            self.training = mode
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
        # ``with name_scope(self.name)``, inline: the scope string inside the current one is looked up
        # (made once per name and outer scope), and put back on the way out, also on errors
        state = STATE
        outer = state.scope
        known = self._scopes
        scope = known[1].get(outer) if known[0] is self.name else None
        state.scope = self._scope_in(outer) if scope is None else scope
        try:
            return self.forward(*args, **kwargs)
        finally:
            state.scope = outer

    def _scope_in(self, outer: str) -> str:
        """The scope of this module's calls inside the scope ``outer`` (``outer/name``), remembered; the
        name is checked as ``name_scope`` checks it (same errors) when it is new."""
        name = self.name
        known = self.__dict__.get("_scopes")
        if known is None or known[0] is not name or len(known[1]) >= 64:
            name_scope(name)  # refuses a name that is not a non-empty string without '/'
            known = (name, {})
            object.__setattr__(self, "_scopes", known)
        scope = known[1][outer] = f"{outer}/{name}" if outer else name
        return scope

    # --- weights as arrays ----------------------------------------------------------------
    def get_weights(self) -> List[np.ndarray]:
        """Copies of every weight array (trainable and not), in :attr:`weights` order (Keras)."""
        return [p.data.copy() for p in self.weights]

    def set_weights(self, weights: List[Any]) -> None:
        """Overwrite every weight, in :attr:`weights` order, with ``weights`` (checked first: all or nothing)."""
        if isinstance(weights, (str, bytes, Mapping, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"set_weights: weights must be a list of arrays (one per parameter), got "
                            f"{V.show(weights)}")
        weights = list(weights)
        named = self._walk("", structural=False, trainable_only=False)
        if len(weights) != len(named):
            raise ValueError(f"set_weights: {self.name} has {len(named)} weight arrays, got {len(weights)}")
        self._write_weights(named, [self._checked_weight("set_weights", n, p, w) for (n, p), w in zip(named, weights)])

    def _checked_weight(self, fn: str, name: str, p: Tensor, value: Any) -> np.ndarray:
        """``value`` for parameter ``p``: real, finite numbers of ``p``'s shape, as ``p``'s dtype."""
        what = f"weight {name!r}"
        a = V.real_array(fn, value, what, allow_bool=False)
        if a.shape != p.shape:
            raise ValueError(f"{fn}: {what} has shape {a.shape} but {self.name} expects {p.shape}")
        with np.errstate(over="ignore"):  # a value too large for the dtype shows up as inf below
            return V.real_array(fn, a.astype(p.data.dtype), what, finite=True)

    @staticmethod
    def _write_weights(named: List[Tuple[str, Tensor]], arrays: List[np.ndarray]) -> None:
        """Write checked arrays into the parameters (nothing here can fail)."""
        for (_, p), a in zip(named, arrays):
            p.data[...] = a

    def state_dict(self) -> Dict[str, np.ndarray]:
        """``{structural path: array copy}`` (see :meth:`named_weights`)."""
        return {n: p.data.copy() for n, p in self.named_weights()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Load arrays by path; names and shapes must match exactly (checked before any change)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: state must be a dict {{name: array}} like state_dict() returns, "
                            f"got {V.show(state)}")
        self._assign_by_name(dict(state), "load_state_dict")

    def _assign_by_name(self, state: Dict[str, Any], fn: str) -> None:
        named = self.named_weights()
        if not named:
            raise ValueError(f"{fn}: {self.name} has no parameters yet; build it first (give the first layer "
                             "input_shape=..., or call the model once on data)")
        names = {n for n, _ in named}
        missing = sorted(names - set(state))
        extra = sorted(map(str, set(state) - names))
        if missing or extra:
            raise ValueError(f"{fn}: the weights do not match {self.name}: missing {missing or 'none'}, "
                             f"unexpected {extra or 'none'}")
        self._write_weights(named, [self._checked_weight(fn, n, p, state[n]) for n, p in named])

    def save_weights(self, path: str) -> None:
        """Write every weight, atomically (temporary file, then rename): ``*.weights.h5`` in Keras 3's
        HDF5 layout (needs h5py), or ``*.npz`` keyed by :meth:`state_dict` paths."""
        path = os.fspath(path)
        if path.endswith(".weights.h5"):
            from ..saving import save_weights_h5  # h5py is optional: imported only when used
            save_weights_h5(self, path)
            return
        if not path.endswith(".npz"):
            raise ValueError(f"save_weights: the file name must end in .weights.h5 or .npz, got {path!r}")
        arrays = self.state_dict()
        if not arrays:
            raise ValueError(f"save_weights: {self.name} has no parameters yet; build it first")
        with atomic_write(path) as f:
            np.savez(f, **arrays)

    def load_weights(self, path: str) -> None:
        """Read weights written by :meth:`save_weights` (``*.npz``, or ``*.weights.h5`` in Keras 3's layout,
        also as Keras writes it). Names and shapes must match; on any mismatch or damaged file a
        ValueError (an OSError when the file cannot be read) explains it, naming the file, and no
        weight is changed."""
        path = V.path("load_weights", "path", path)
        if path.endswith(".h5"):
            from ..saving import load_weights_h5  # h5py is optional: imported only when used
            load_weights_h5(self, path)
            return
        state = _read_npz(path)
        for k, a in state.items():
            if a.dtype.kind not in "iuf":
                raise ValueError(f"load_weights: {path!r} is not a weights file: {k!r} holds {a.dtype}, not numbers")
        try:
            self._assign_by_name(state, "load_weights")
        except (TypeError, ValueError) as e:
            raise ValueError(f"{e} (file {path!r})") from None

    def __repr__(self) -> str:
        kids = "".join(f"\n  ({k}): " + repr(m).replace("\n", "\n  ") for k, m in self._children().items())
        return f"{type(self).__name__}(name={self.name!r}){kids}"


def _read_npz(path: str) -> Dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``; errors name ``load_weights`` and the file."""
    try:
        with open(path, "rb") as fh:
            loaded = np.load(fh, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array, not named weights")
            with loaded as f:
                return {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"load_weights: no such file: {path!r}") from None
    except OSError as e:  # a directory, unreadable...: keep the OSError kind, say who and which file
        err = type(e)(f"load_weights: cannot read {path!r}: {e.strerror or e}")
        err.errno = e.errno
        raise err from None
    except Exception as e:  # truncated or damaged: zipfile.BadZipFile, EOFError, zlib.error, ValueError...
        raise ValueError(f"load_weights: {path!r} is not a weights file written by save_weights "
                         f"({type(e).__name__}: {e})") from None
