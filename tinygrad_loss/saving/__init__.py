"""Saving in Keras 3's own formats: whole models as ``.keras`` archives, weights as ``.weights.h5``.

* :func:`save_model` / ``model.save("m.keras")``: a zip holding ``metadata.json``, ``config.json``
  (Keras's serialisation of the model, its layers, and the optimizer/loss/metrics given to
  ``compile``) and ``model.weights.h5`` (Keras's HDF5 layout: ``layers/<name>/vars/<i>``,
  ``optimizer/vars/<i>``), written atomically. Keras 3 loads it; :func:`load_model` reads files
  Keras 3 wrote, for the layers this project has (else a clear error naming the layer).
* ``model.save_weights("w.weights.h5")`` / ``load_weights``: the same HDF5 layout alone.

Nothing in these formats runs code on load: configs name classes, looked up in a fixed table
(or in ``custom_objects``); weights are plain numeric arrays. h5py is needed (the ``[keras]``
extra): ``pip install tinygrad_loss[keras]``.
"""
from .archive import load_model, save_model
from .config import deserialize_layer, serialize_layer
from .h5 import load_weights_h5, save_weights_h5

__all__ = ["save_model", "load_model", "save_weights_h5", "load_weights_h5", "serialize_layer", "deserialize_layer"]
