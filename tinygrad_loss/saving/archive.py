"""``.keras`` archives: ``model.save("m.keras")`` and ``keras.models.load_model("m.keras")``."""
from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from typing import Any, Dict, Optional

from .._io import atomic_write
from .config import FormatError
from .h5 import h5py_module, read_h5, write_h5
from .models import compile_from_config, model_config, model_from_config

__all__ = ["save_model", "load_model", "KERAS_FORMAT_VERSION"]

KERAS_FORMAT_VERSION = "3.15.1"
"""The Keras release whose archive format these files follow (written as ``keras_version``)."""

_MEMBERS = ("metadata.json", "config.json", "model.weights.h5")


def save_model(model: Any, filepath: Any) -> None:
    """Write ``model`` (Sequential or functional) as a Keras 3 ``.keras`` archive, atomically."""
    path = os.fspath(filepath)
    if not path.endswith(".keras"):
        raise ValueError(f"save: the file name must end in .keras (Keras 3's format), got {path!r}; for weights "
                         "alone use save_weights('name.weights.h5')")
    h5py = h5py_module()
    config = json.dumps(model_config(model))
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        write_h5(model, f)
    metadata = json.dumps({"keras_version": KERAS_FORMAT_VERSION, "saved_by": "tinygrad_loss",
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    with atomic_write(path) as out:
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("metadata.json", metadata)
            z.writestr("config.json", config)
            z.writestr("model.weights.h5", buf.getvalue())


def _read_members(path: str) -> Dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            missing = [m for m in ("config.json", "model.weights.h5") if m not in names]
            if missing:
                raise FormatError(f"the archive has no {' or '.join(missing)} (entries: {sorted(names)[:6]})")
            return {m: z.read(m) for m in _MEMBERS if m in names}
    except zipfile.BadZipFile as e:
        raise FormatError(f"not a .keras archive (a zip file): {e}") from None
    except (zipfile.LargeZipFile, EOFError, OSError) as e:
        raise FormatError(f"the archive cannot be read (truncated or damaged?): {e}") from None


def load_model(filepath: Any, custom_objects: Optional[Dict[str, Any]] = None, compile: bool = True) -> Any:
    """Rebuild a model saved by :func:`save_model` or by Keras 3: its layers and weights, and (with
    ``compile=True``) its optimizer with its state, loss and metrics, so predictions and continued
    training match. ``custom_objects`` maps class names to your own classes. A damaged or foreign
    file raises a ValueError saying what is wrong; nothing in the file is executed."""
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_model: no such file: {path!r}")
    h5py = h5py_module()
    try:
        members = _read_members(path)
        try:
            config = json.loads(members["config.json"].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise FormatError(f"config.json is not valid JSON: {e}") from None
        model = model_from_config(config, custom_objects)
        if compile:
            compile_from_config(model, config.get("compile_config"), custom_objects)
        try:
            f = h5py.File(io.BytesIO(members["model.weights.h5"]), "r")
        except OSError as e:
            raise FormatError(f"model.weights.h5 is not an HDF5 file: {e}") from None
        with f:
            read_h5(model, f)
    except FormatError as e:
        raise ValueError(f"load_model: {path!r}: {e}") from None
    except (KeyError, OSError) as e:
        raise ValueError(f"load_model: {path!r}: the weights cannot be read (damaged file?): {e}") from None
    return model
