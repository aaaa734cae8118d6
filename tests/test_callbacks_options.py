"""Issue 18's callbacks and training options, against Keras's documented rules computed by hand
in NumPy: LearningRateScheduler, ReduceLROnPlateau (patience/cooldown/min_lr), CSVLogger
(atomic rows, append), fit(class_weight=..., sample_weight=...), and gradient clipping
(clipnorm, clipvalue, global_clipnorm) on every optimizer."""
import csv
import os

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import callbacks, optim
from tinygrad_loss.nn import Dense, Sequential

X = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0], [0.5, -1.0]])
Y = np.array([3.0, 5.0, 7.0, 1.0])
K0, B0 = np.array([[0.4], [-0.3]]), np.array([0.1])


@pytest.fixture(autouse=True)
def _fresh_names():
    tl.nn.clear_session()


def linear(optimizer):
    model = Sequential([Dense(1, input_shape=(2,), dtype="float64")])
    model.set_weights([K0, B0])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def numpy_weighted_sgd(lrs, weights=None):
    """Full-batch SGD on Keras's weighted MSE, sum_i w_i (x_i k + b - y_i)² / n, one lr per epoch."""
    k, b = K0.copy(), B0.copy()
    w = np.ones(len(X)) if weights is None else np.asarray(weights, dtype=float)
    for lr in lrs:
        r = (X @ k + b - Y[:, None]) * w[:, None]
        k, b = k - lr * 2 * X.T @ r / len(X), b - lr * 2 * r.sum(0) / len(X)
    return k, b


# --- gradient clipping ------------------------------------------------------------------------

OPTIMIZERS = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad]


def clipped(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipnorm:
        return [g * clipnorm / max(np.linalg.norm(g), clipnorm) for g in grads]
    if global_clipnorm:
        norm = np.sqrt(sum((g ** 2).sum() for g in grads))
        return [g * global_clipnorm / max(norm, global_clipnorm) for g in grads]
    return [np.clip(g, -clipvalue, clipvalue) for g in grads]


@pytest.mark.parametrize("cls", OPTIMIZERS)
@pytest.mark.parametrize("setting", [{"clipnorm": 0.5}, {"clipvalue": 0.3}, {"global_clipnorm": 1.0}])
def test_clipping_on_every_optimizer_is_keras_clipping_before_the_update(cls, setting):
    """An optimizer with clipping, given raw gradients, moves the weights exactly as the same
    optimizer without clipping given the gradients clipped by Keras's formulas."""
    rng = np.random.default_rng(0)
    w0 = [rng.normal(size=(3, 2)), rng.normal(size=(2,))]
    raw = [[rng.normal(scale=3.0, size=w.shape) for w in w0] for _ in range(3)]
    a = [tl.Tensor(w.copy(), requires_grad=True) for w in w0]
    b = [tl.Tensor(w.copy(), requires_grad=True) for w in w0]
    opt_a, opt_b = cls(a, learning_rate=0.1, **setting), cls(b, learning_rate=0.1)
    for grads in raw:
        for p, g in zip(a, grads):
            p.grad = tl.Tensor(g.copy())
        opt_a.step()
        np.testing.assert_array_equal(a[0].grad.data, grads[0])  # the gradients themselves are untouched
        opt_b.apply_gradients(zip(clipped(grads, **setting), b))
    for p, q in zip(a, b):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-12)
    assert opt_a.get_config()[next(iter(setting))] == next(iter(setting.values()))
    assert not np.allclose(clipped(raw[0], **setting)[0], raw[0][0])  # the test data does get clipped


def test_clipping_arguments_are_checked_like_keras():
    with pytest.raises(ValueError, match="Adam: only one of clipnorm, clipvalue and global_clipnorm can be set"):
        optim.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="SGD: clipnorm must be a finite number > 0"):
        optim.SGD(clipnorm=-1.0)
    assert optim.get("sgd").clipnorm is None
    m = linear(optim.SGD(learning_rate=0.01, clipnorm=1e-3))
    m.fit(X, Y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    g = 2 * np.concatenate([(X.T @ (X @ K0 + B0 - Y[:, None])).ravel(), (X @ K0 + B0 - Y[:, None]).sum(0)]) / 4
    step = g[:2] * 1e-3 / np.linalg.norm(g[:2])  # the kernel's own gradient norm, per variable
    np.testing.assert_allclose(m.layers[0].kernel.data.ravel(), K0.ravel() - 0.01 * step, atol=1e-12)


# --- class_weight / sample_weight --------------------------------------------------------------

def test_sample_weight_is_keras_weighted_mean_of_the_per_sample_losses():
    w = np.array([1.0, 0.0, 2.0, 0.5])
    m = linear("sgd")
    h = m.fit(X, Y, sample_weight=w, epochs=5, batch_size=4, shuffle=False, verbose=0)
    k, b = numpy_weighted_sgd([0.01] * 5, w)
    np.testing.assert_allclose(m.layers[0].kernel.data, k, atol=1e-12)
    np.testing.assert_allclose(m.layers[0].bias.data, b, atol=1e-12)
    first = np.sum(w * (X @ K0 + B0 - Y[:, None]).ravel() ** 2) / 4
    assert h.history["loss"][0] == pytest.approx(first, rel=1e-12)
    assert m.evaluate(X, Y, sample_weight=w, verbose=0) == pytest.approx(
        np.sum(w * (X @ k + b - Y[:, None]).ravel() ** 2) / 4, rel=1e-12)


def test_class_weight_weighs_each_sample_by_its_class():
    labels = np.array([0, 1, 1, 0])
    onehot = np.eye(2)[labels]
    cw = {0: 3.0, 1: 0.5}

    def run(**kw):
        tl.nn.clear_session()
        tl.manual_seed(0)
        model = Sequential([Dense(2, activation="softmax", input_shape=(2,), dtype="float64")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        model.fit(X, onehot, epochs=3, batch_size=2, verbose=0, **kw)
        return model.get_weights()

    by_class = run(class_weight=cw)
    by_sample = run(sample_weight=np.array([3.0, 0.5, 0.5, 3.0]))
    plain = run()
    for a, b in zip(by_class, by_sample):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert not np.allclose(by_class[0], plain[0])
    m = linear("sgd")
    with pytest.raises(ValueError, match="fit: give class_weight or sample_weight, not both"):
        m.fit(X, Y, class_weight={0: 1.0}, sample_weight=np.ones(4), verbose=0)
    with pytest.raises(ValueError, match="fit: sample_weight has 3 entries for 4 samples"):
        m.fit(X, Y, sample_weight=np.ones(3), verbose=0)
    with pytest.raises(TypeError, match="fit: class_weight must be a dict"):
        m.fit(X, Y, class_weight=[1.0, 2.0], verbose=0)
    assert m.optimizer.iterations == 0


# --- LearningRateScheduler / ReduceLROnPlateau ------------------------------------------------

def test_learning_rate_scheduler_sets_each_epochs_rate():
    m = linear(optim.SGD(learning_rate=0.5))
    seen = []

    def schedule(epoch, lr):
        seen.append(lr)
        return 0.02 * 0.5 ** epoch

    h = m.fit(X, Y, epochs=4, batch_size=4, shuffle=False, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(schedule)])
    lrs = [0.02, 0.01, 0.005, 0.0025]
    assert h.history["learning_rate"] == lrs and seen == [0.5] + lrs[:3]
    k, b = numpy_weighted_sgd(lrs)
    np.testing.assert_allclose(m.layers[0].kernel.data, k, atol=1e-12)
    one_arg = linear(optim.SGD(learning_rate=0.5))
    one_arg.fit(X, Y, epochs=2, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e: 0.1 / (e + 1))])
    assert one_arg.optimizer.learning_rate == 0.05
    bad = linear("sgd")
    with pytest.raises(ValueError, match="the schedule must return a finite number >= 0, at epoch 0 it returned 'x'"):
        bad.fit(X, Y, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "x")])


class _Holder:
    def __init__(self, lr):
        self.optimizer = optim.SGD(learning_rate=lr)


def test_reduce_lr_on_plateau_patience_cooldown_and_min_lr():
    """Keras's rule, followed by hand: a bad epoch counts toward patience unless cooling down;
    the epoch that ends a cooldown already counts; the rate never goes below min_lr."""
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_lr=0.02, min_delta=0)
    cb.set_model(_Holder(0.1))
    cb.on_train_begin()
    logged = []
    for epoch, v in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5]):
        logs = {"val_loss": v}
        cb.on_epoch_end(epoch, logs)
        logged.append(logs["learning_rate"])
    assert logged == [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02]
    assert cb.model.optimizer.learning_rate == 0.02
    with pytest.raises(ValueError, match="factor must be in \\[0, 1\\)"):
        callbacks.ReduceLROnPlateau(factor=1.5)


def test_reduce_lr_on_plateau_min_delta_and_mode_in_fit():
    cb = callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.1)
    cb.set_model(_Holder(1.0))
    for epoch, v in enumerate([1.0, 0.95, 0.8]):  # 0.95 improves by less than min_delta: a bad epoch
        cb.on_epoch_end(epoch, {"val_loss": v})
    assert cb.model.optimizer.learning_rate == 0.5 and cb.best == 0.8
    m = linear(optim.SGD(learning_rate=0.01))
    h = m.fit(X, Y, epochs=4, verbose=0, callbacks=[callbacks.ReduceLROnPlateau(monitor="loss", mode="max",
                                                                                  patience=1, factor=0.5)])
    assert h.history["learning_rate"] == [0.01, 0.01, 0.005, 0.0025]  # a falling loss never "improves" in max mode


# --- CSVLogger ---------------------------------------------------------------------------------

def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_logger_rows_match_history_and_append_continues(tmp_path):
    path = tmp_path / "log.csv"
    m = linear("sgd")
    h = m.fit(X, Y, epochs=3, validation_data=(X[:2], Y[:2]), verbose=0, callbacks=[callbacks.CSVLogger(path)])
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    assert [float(r[1]) for r in rows[1:]] == h.history["loss"]
    assert [float(r[2]) for r in rows[1:]] == h.history["val_loss"]
    m.fit(X, Y, epochs=5, initial_epoch=3, verbose=0, callbacks=[callbacks.CSVLogger(path, append=True)])
    rows = read_rows(path)
    assert [r[0] for r in rows] == ["epoch", "0", "1", "2", "3", "4"] and rows[-1][2] == "NA"
    m.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path)])  # append=False starts over
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"] and len(rows) == 2


def test_csv_logger_never_leaves_half_a_row(tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    m = linear("sgd")
    real_replace, calls = os.replace, []

    def replace_then_crash(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_crash)
    with pytest.raises(OSError, match="disk full"):
        m.fit(X, Y, epochs=3, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    rows = read_rows(path)
    assert len(rows) == 2 and rows[1][0] == "0"  # the first epoch's complete file, nothing half-written
    assert os.listdir(tmp_path) == ["log.csv"]
