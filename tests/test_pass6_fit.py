"""Sixth speed pass on fit (training.py): the usual call (``verbose=0``, every other option at its default) of a
model fit may train on its first step's forward (``_probe_free``) runs ``_fit_one_batch``: History called
directly instead of through a CallbackList, no feed or plan objects, the option checks folded into one test,
and the batch not copied again when fit made its arrays from lists itself. Everything must be what the general
path gives: History (values, types, params, model), weights to the bit, errors and their messages, state after
an error. The general path is reached with the same call and ``epochs`` as a NumPy int (accepted, but not the
plain ``int`` the quick test asks for)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import fit_models
import tinygrad_loss as tl
from tinygrad_loss import callbacks, losses, training
from tinygrad_loss.nn import Sequential
from tinygrad_loss.nn import module as nn_module

X = [[1, 2], [2, 3], [3, 4]]
Y = [3, 5, 7]


def _model(kind="dense", dtype="float32", loss="mse", lr=0.01, momentum=0.0):
    return fit_models.build(kind, dtype, loss, lr, momentum)


def _spy(monkeypatch):
    """Records every _fit_one_batch call (the quick path) and every _early_step call."""
    seen = {"quick": 0, "early": []}
    quick, early = training.Trainable._fit_one_batch, training.Trainable._early_step

    def spy_quick(self, *a):
        seen["quick"] += 1
        return quick(self, *a)

    def spy_early(self, *a):
        out = early(self, *a)
        seen["early"].append(out is not None)
        return out

    monkeypatch.setattr(training.Trainable, "_fit_one_batch", spy_quick)
    monkeypatch.setattr(training.Trainable, "_early_step", spy_early)
    return seen


def _fit(kind="dense", dtype="float32", loss="mse", lr=0.01, x=X, y=Y, epochs=5, general=False, momentum=0.0, **kw):
    m = _model(kind, dtype, loss, lr, momentum)
    tl.manual_seed(11)
    h = m.fit(x, y, epochs=np.int64(epochs) if general else epochs, verbose=0, **kw)
    return h, m


def _same(a, b):
    (h, m), (h_ref, m_ref) = a, b
    assert h.epoch == h_ref.epoch and list(h.history) == list(h_ref.history)
    for k in h.history:
        assert [float(v).hex() for v in h.history[k]] == [float(v).hex() for v in h_ref.history[k]]
        assert [type(v) for v in h.history[k]] == [type(v) for v in h_ref.history[k]]
    assert [type(e) for e in h.epoch] == [type(e) for e in h_ref.epoch]
    assert h.params == h_ref.params and h.stop_reason == h_ref.stop_reason
    assert h.model is m and h_ref.model is m_ref and type(h) is type(h_ref) is callbacks.History
    for w, w_ref in zip(m.get_weights(), m_ref.get_weights()):
        assert w.dtype == w_ref.dtype and w.shape == w_ref.shape
        assert w.tobytes() == w_ref.tobytes()
    assert m.optimizer.iterations == m_ref.optimizer.iterations
    assert len(m.optimizer.params) == len(m_ref.optimizer.params) == len(m.parameters())
    assert all(p.grad is None for p in m.parameters())
    assert m.training and all(l.training for l in m.layers) and m.stop_training == m_ref.stop_training


Y_COLUMN = [[3], [5], [7]]
X_FLOAT = [[1.5, 2.25], [2.0, -3.0], [3.0, 4.0]]


@pytest.mark.parametrize("kind", ["dense", "deep"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("x, y", [(X, Y), (X, Y_COLUMN), (X_FLOAT, Y), (np.array(X), np.array(Y)),
                                  (tl.Tensor(X), np.array(Y, dtype=np.float32)), (X, np.array(Y_COLUMN))])
def test_the_one_batch_fit_trains_exactly_as_the_general_path(monkeypatch, kind, dtype, x, y):
    seen = _spy(monkeypatch)
    quick = _fit(kind, dtype, x=x, y=y, epochs=7)
    assert seen == {"quick": 1, "early": [True]}
    general = _fit(kind, dtype, x=x, y=y, epochs=7, general=True)
    assert seen == {"quick": 1, "early": [True, True]}  # the general path took the early step, not the one-batch fit
    _same(quick, general)
    assert quick[0].params == {"epochs": 7, "steps": 1, "verbose": 0}
    assert len(quick[0].history["loss"]) == 7


class Nothing(callbacks.Callback):
    """Overrides no hook: the epochs stay plain, but fit probes (no early step) and feeds the batch as it makes it."""


@pytest.mark.parametrize("dtype, loss_dtype", [("float32", None), ("float64", None), ("float32", "float64"),
                                               ("float64", "float32"), ("float16", None)])
@pytest.mark.parametrize("x, y", [(X, [0.1, 0.2, 0.7]), (X_FLOAT, [[0.1], [0.2], [0.7]]), (np.array(X_FLOAT), Y)])
def test_the_one_batch_fit_feeds_what_the_probed_fit_feeds(monkeypatch, dtype, loss_dtype, x, y):
    """Against the fit that probes and makes its batch with _wrap_inputs and _target_maker: the same inputs and
    targets reach the model and the loss (shapes, dtypes, values), and the same History and weights come out."""
    seen = _spy(monkeypatch)
    fed = {"quick": [], "probed": []}
    inputs = {"quick": [], "probed": []}
    real_call, real_model_call = losses.MeanSquaredError.__call__, Sequential.__call__
    runs = {}
    for kind, cbs in (("quick", None), ("probed", [Nothing()])):
        def spy_loss(self, y_true, y_pred, *a, _kind=kind, **k):
            fed[_kind].append((y_true.shape, y_true.dtype, y_true.data.tobytes(), y_pred.shape, y_pred.dtype))
            return real_call(self, y_true, y_pred, *a, **k)

        def spy_model(self, x, *a, _kind=kind, **k):
            inputs[_kind].append((type(x), x.shape, x.dtype, x.data.tobytes(), x.data.flags.c_contiguous))
            return real_model_call(self, x, *a, **k)

        monkeypatch.setattr(losses.MeanSquaredError, "__call__", spy_loss)
        monkeypatch.setattr(Sequential, "__call__", spy_model)
        m = _model("deep", dtype, losses.MeanSquaredError(dtype=loss_dtype))
        runs[kind] = (m.fit(x, y, epochs=4, verbose=0, callbacks=cbs), m)
    assert seen["quick"] == 1 and seen["early"] == [True]
    assert fed["quick"] == fed["probed"][-4:] and len(fed["quick"]) == 4  # (the probe's own call comes first)
    assert fed["quick"][0][0] == (3, 1)
    assert inputs["quick"] == inputs["probed"][-4:] and len(inputs["quick"]) == 4
    _same(runs["quick"], runs["probed"])


@pytest.mark.parametrize("loss", ["mae", "huber", "log_cosh", "bce_logits", "mean_squared_logarithmic_error"])
def test_other_builtin_losses_and_momentum(monkeypatch, loss):
    seen = _spy(monkeypatch)
    y = [0.0, 1.0, 1.0] if loss == "bce_logits" else Y
    loss = losses.BinaryCrossentropy(from_logits=True) if loss == "bce_logits" else loss
    quick = _fit("deep", "float64", loss, x=X, y=y, epochs=6, momentum=0.9)
    general = _fit("deep", "float64", loss, x=X, y=y, epochs=6, general=True, momentum=0.9)
    assert seen["quick"] == 1
    _same(quick, general)


@pytest.mark.parametrize("kw", [{"batch_size": 3}, {"batch_size": 64}, {"shuffle": False}, {"validation_split": 0},
                                {"initial_epoch": 0}, {"validation_split": 0.0, "batch_size": None}])
def test_options_at_their_defaults_take_the_one_batch_fit(monkeypatch, kw):
    seen = _spy(monkeypatch)
    quick = _fit(epochs=4, **kw)
    general = _fit(epochs=4, general=True, **kw)
    assert seen["quick"] == 1
    _same(quick, general)


@pytest.mark.parametrize("kw", [{"batch_size": 2}, {"callbacks": []}, {"shuffle": np.bool_(True)},
                                {"sample_weight": [1.0, 2.0, 0.5]}, {"class_weight": {3: 1.0}},
                                {"validation_split": 0.34}, {"validation_data": (X, Y)}, {"initial_epoch": 2},
                                {"batch_size": np.int64(32)}, {"validation_split": np.float64(0.0)}])
def test_anything_else_takes_the_general_path(monkeypatch, kw):
    seen = _spy(monkeypatch)
    h, m = _fit(epochs=4, **kw)
    assert seen["quick"] == 0
    assert len(h.epoch) == 4 - kw.get("initial_epoch", 0)


@pytest.mark.parametrize("kind", ["dropout"])
def test_a_model_that_must_be_probed_is_probed(monkeypatch, kind):
    seen = _spy(monkeypatch)
    _fit(kind, epochs=3)
    assert seen == {"quick": 0, "early": []}


def test_the_caller_s_arrays_are_copied_and_list_data_is_not_copied_twice(monkeypatch):
    """An array (or Tensor) x is the caller's: the step must compute on a copy of it, as the general path's batch
    is; an array fit made from a list is fit's own and is used as it is."""
    seen_inputs = []
    real_call = Sequential.__call__

    def spy_call(self, x, *a, **k):
        seen_inputs.append(x)
        return real_call(self, x, *a, **k)

    monkeypatch.setattr(Sequential, "__call__", spy_call)
    xa = np.array(X_FLOAT)
    m = _model(dtype="float64")
    m.fit(xa, Y, epochs=2, verbose=0)
    assert seen_inputs and not any(np.shares_memory(t.data, xa) for t in seen_inputs)
    xt = tl.Tensor(np.array(X_FLOAT))
    seen_inputs.clear()
    m = _model(dtype="float64")
    m.fit(xt, Y, epochs=2, verbose=0)
    assert not any(np.shares_memory(t.data, xt.data) for t in seen_inputs)

    takes = []
    real_take = training._Data.take
    monkeypatch.setattr(training._Data, "take", lambda self, idx: takes.append(1) or real_take(self, idx))
    _model().fit(X, Y, epochs=2, verbose=0)
    assert takes == []  # lists: the arrays fit made are the batch
    _model().fit(np.array(X), Y, epochs=2, verbose=0)
    assert takes == [1]


@pytest.mark.parametrize("order", ["F", "strided"])
def test_non_contiguous_inputs_give_the_same_bits(monkeypatch, order):
    seen = _spy(monkeypatch)
    base = np.arange(24, dtype=np.float64).reshape(4, 6) / 7.0
    x = np.asfortranarray(base[:3, :2]) if order == "F" else base[::1, ::3][:3]
    y = base[:3, 5]
    _same(_fit("deep", "float64", x=x, y=y, epochs=5), _fit("deep", "float64", x=x, y=y, epochs=5, general=True))
    assert seen["quick"] == 1


BAD = [
    ([[1, 2], [2, 3]], Y, ValueError,
     "fit: x and y must have the same number of samples, got x of shape (2, 2) (2 samples) and y of shape (3,) "
     "(3 samples)"),
    ([[1, 2, 3], [2, 3, 4], [0, 0, 0]], Y, ValueError,
     "fit: the model expects inputs of shape (batch, 2) but x has shape (3, 3)"),
    ([[1, float("nan")], [2, 3], [3, 4]], Y, ValueError, "fit: x contains a non-finite value (nan at index (0, 1))"),
    (X, [3, float("inf"), 7], ValueError, "fit: y contains a non-finite value (inf at index (1,))"),
    ([], Y, ValueError, "fit: x is empty"),
    (5.0, Y, ValueError, "fit: x must have a batch axis, got a scalar"),
    (X, "357", TypeError, "fit: y must be numeric (real numbers), got '357' of type str"),
    (X, [[3], [5, 6], [7]], TypeError, "fit: y must be numeric (real numbers) in a regular (non-ragged) shape"),
    (X, [[3, 1, 2]] * 3, ValueError, "fit: y of shape (3, 3) does not fit the model's output of shape (batch, 1)"),
]


@pytest.mark.parametrize("x, y, err, msg", BAD)
def test_bad_data_is_refused_with_the_same_message_before_any_state_change(monkeypatch, x, y, err, msg):
    seen = _spy(monkeypatch)
    for general in (False, True):
        m = _model()
        weights, modes = [w.copy() for w in m.get_weights()], nn_module.mode_changes()
        with pytest.raises(err) as info:
            m.fit(x, y, epochs=np.int64(3) if general else 3, verbose=0)
        assert str(info.value).startswith(msg)
        assert all(a.tobytes() == b.tobytes() for a, b in zip(m.get_weights(), weights))
        assert m.optimizer.params == [] and m.optimizer.iterations == 0
        assert m.training and all(l.training for l in m.layers) and not m.stop_training
        if msg.startswith("fit: y of shape"):  # the early step failed: the probe said why (and switched modes)
            assert nn_module.mode_changes() > modes
        else:
            assert nn_module.mode_changes() == modes
    assert seen["quick"] == 0
    # the early step was tried once by each fit (not again by the general path after the quick one), or never
    assert seen["early"] == ([False, False] if msg.startswith("fit: y of shape") else [])


@pytest.mark.parametrize("fn", ["evaluate", "predict"])
def test_evaluate_and_predict_refuse_bad_data_as_before(fn):
    m = _model()
    call = getattr(m, fn)
    with pytest.raises(ValueError, match=rf"^{fn}: the model expects inputs of shape \(batch, 2\) but x has shape "
                                         r"\(3, 3\)$"):
        call([[1, 2, 3]] * 3) if fn == "predict" else call([[1, 2, 3]] * 3, Y, verbose=0)
    with pytest.raises(ValueError, match=rf"^{fn}: x contains a non-finite value \(inf at index \(1, 0\)\)$"):
        bad = [[1, 2], [float("inf"), 3], [3, 4]]
        call(bad) if fn == "predict" else call(bad, Y, verbose=0)
    if fn == "evaluate":
        with pytest.raises(ValueError, match=r"^evaluate: sample_weight has 2 entries for 3 samples$"):
            call(X, Y, verbose=0, sample_weight=[1.0, 2.0])
        with pytest.raises(ValueError, match=r"^evaluate: x and y must have the same number of samples"):
            call(X, [1, 2], verbose=0)


def test_evaluate_and_predict_give_the_numpy_values():
    m = _model(dtype="float64")
    w, b = m.get_weights()
    xa = np.array(X, dtype=np.float64)
    expected = xa @ w + b
    np.testing.assert_allclose(m.predict(X), expected, rtol=1e-12)
    np.testing.assert_allclose(m.evaluate(X, Y, verbose=0), np.mean((expected[:, 0] - np.array(Y)) ** 2),
                               rtol=1e-12)
    np.testing.assert_allclose(m.evaluate(X, Y, verbose=0, sample_weight=[1.0, 0.0, 1.0]),
                               np.sum(((expected[:, 0] - np.array(Y)) ** 2) * [1, 0, 1]) / 3, rtol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverging_fit_stops_as_the_general_path_does(monkeypatch, capsys):
    seen = _spy(monkeypatch)
    quick = _fit(lr=1e19, epochs=40)
    out_quick = capsys.readouterr().err
    general = _fit(lr=1e19, epochs=40, general=True)
    out_general = capsys.readouterr().err
    assert seen["quick"] == 1
    assert quick[0].stop_reason is not None and "became non-finite at epoch" in quick[0].stop_reason
    assert len(quick[0].epoch) < 40 and out_quick == out_general != ""
    _same(quick, general)


def test_floating_point_warnings_are_shown_as_by_the_general_path(monkeypatch):
    def run(general):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h, m = _fit(lr=1e18, epochs=12, general=general, x=[[1e10, 2e10], [2e10, 3e10], [3e10, 4e10]])
        return h, m, sorted(str(w.message) for w in caught)

    h, m, w = run(False)
    h_ref, m_ref, w_ref = run(True)
    assert w == w_ref and w  # (the run does overflow)
    _same((h, m), (h_ref, m_ref))


def test_history_hooks_are_called_on_the_history_fit_returns(monkeypatch):
    calls = []
    for hook in ("set_model", "set_params", "on_train_begin", "on_train_end"):
        real = getattr(callbacks.History, hook)
        monkeypatch.setattr(callbacks.History, hook,
                            lambda self, *a, _real=real, _hook=hook: calls.append((_hook, a)) or _real(self, *a))
    seen = _spy(monkeypatch)
    h, m = _fit(epochs=3)
    assert seen["quick"] == 1
    quick_calls = list(calls)
    calls.clear()
    _fit(epochs=3, general=True)
    assert [c[0] for c in quick_calls] == [c[0] for c in calls] == ["set_model", "set_params", "on_train_begin",
                                                                    "on_train_end"]
    assert quick_calls[1][1] == ({"epochs": 3, "steps": 1, "verbose": 0},)
    assert quick_calls[2][1] == calls[2][1] == (None,) and quick_calls[3][1] == calls[3][1] == (None,)


def test_given_callbacks_are_still_called(monkeypatch):
    seen = _spy(monkeypatch)
    log = []

    class Record(callbacks.Callback):
        def on_train_begin(self, logs=None):
            log.append("begin")

        def on_epoch_end(self, epoch, logs=None):
            log.append(("epoch", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            log.append("end")

    h, m = _fit(epochs=3, callbacks=[Record()])
    assert seen["quick"] == 0
    assert log == ["begin", ("epoch", 0, ["loss"]), ("epoch", 1, ["loss"]), ("epoch", 2, ["loss"]), "end"]


@pytest.mark.parametrize("at", [2, 4])
def test_a_mode_change_during_training_is_undone_as_by_the_general_path(monkeypatch, at):
    """Something that switches a layer to inference mode during the epochs (here the optimizer's step, after the
    second or the last update) finds it back in training mode at the next epoch and at the end, as in the
    general path."""
    seen = _spy(monkeypatch)
    runs = []
    for general in (False, True):
        m = _model()
        real_step = m.optimizer.step
        flips = []

        def step(_m=m, _real=real_step, _flips=flips):
            _flips.append(_m.layers[0].training)
            _real()
            if len(_flips) == at:
                _m.layers[0].eval()

        m.optimizer.step = step
        h = m.fit(X, Y, epochs=np.int64(4) if general else 4, verbose=0)
        runs.append((h, m))
        assert flips == [True, True, True, True] and m.layers[0].training
    assert seen["quick"] == 1
    _same(*runs)


def test_a_stop_left_by_an_earlier_fit_is_reset(monkeypatch):
    seen = _spy(monkeypatch)
    m = _model()
    m.stop_training = True
    h = m.fit(X, Y, epochs=3, verbose=0)
    assert seen["quick"] == 1 and h.epoch == [0, 1, 2] and not m.stop_training


def test_an_optimizer_bound_elsewhere_is_refused_before_training(monkeypatch):
    seen = _spy(monkeypatch)
    other = _model()
    m = _model()
    m.optimizer = other.optimizer
    other.optimizer.add_params(other.parameters())
    weights = [w.copy() for w in m.get_weights()]
    with pytest.raises(ValueError, match="^fit: the optimizer is bound to other parameters than this model's"):
        m.fit(X, Y, epochs=3, verbose=0)
    assert seen["quick"] == 1
    assert all(a.tobytes() == b.tobytes() for a, b in zip(m.get_weights(), weights))
