"""The small compiled Sequential models the fit tests train, by kind.

- ``dense``: ``Dense(1)`` on two inputs (the reference program's model);
- ``deep``: an ``Input``, ``Dense(4, tanh)``, ``Activation("relu")`` and ``Dense(1)``;
- ``dropout``: ``Dense(4)``, ``Dropout(0.5)``, ``Dense(1)`` (not probe-free: fit always probes it);
- ``lazy``: ``Dense(3)``, ``Dense(1)``, built at the first call.

Each is made after ``clear_session()`` and ``manual_seed(7)``, so the same kind starts from the same weights.
"""
import tinygrad_loss as tl
from tinygrad_loss import optim
from tinygrad_loss.nn import Activation, Dense, Dropout, Input, Sequential


def build(kind, dtype, loss, lr, momentum=0.0):
    tl.nn.clear_session()
    tl.manual_seed(7)
    if kind == "dense":
        layers = [Dense(1, input_shape=(2,), dtype=dtype)]
    elif kind == "deep":
        layers = [Input(shape=(2,)), Dense(4, activation="tanh", dtype=dtype), Activation("relu"), Dense(1, dtype=dtype)]
    elif kind == "dropout":
        layers = [Dense(4, input_shape=(2,), dtype=dtype), Dropout(0.5), Dense(1, dtype=dtype)]
    elif kind == "lazy":
        layers = [Dense(3, dtype=dtype), Dense(1, dtype=dtype)]
    else:
        raise ValueError(f"fit_models.build: unknown kind {kind!r}")
    m = Sequential(layers)
    m.compile(optimizer=optim.SGD(learning_rate=lr, momentum=momentum), loss=loss)
    return m
