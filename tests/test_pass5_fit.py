"""Fifth speed pass on fit (training.py): the first training step's forward and loss stand in for the probe
(_early_step, when _probe_free), the step is run inline in the plain epochs, the callback hooks are found in
one pass (_hooks_used). Each must give exactly what the general path gives: the same History (values and
types), the same weights to the bit, the same errors with the same messages, before any state changes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import fit_models
import tinygrad_loss as tl
from tinygrad_loss import callbacks, losses, training
from tinygrad_loss.nn import Dense, Sequential

X = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]])
Y = np.array([3.0, 5.0, 7.0])


class Nothing(callbacks.Callback):
    """Overrides no hook: the epochs stay plain, but a callback makes fit probe as before (no early step)."""


def _model(kind="dense", dtype="float64", loss="mse", lr=0.01):
    return fit_models.build(kind, dtype, loss, lr)


def _spy(monkeypatch):
    """Records whether each fit took the early step (True) or probed (False)."""
    taken = []
    real = training.Trainable._early_step

    def early(self, data, *rest):
        out = real(self, data, *rest)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(training.Trainable, "_early_step", early)
    return taken


def _fit_both(kind="dense", dtype="float64", loss="mse", lr=0.01, x=X, y=Y, **kw):
    """(history, weights) without callbacks (the early step) and with one that does nothing (the probe)."""
    out = []
    for cbs in ([], [Nothing()]):
        m = _model(kind, dtype, loss, lr)
        tl.manual_seed(11)
        h = m.fit(x, y, verbose=0, callbacks=cbs, **kw)
        out.append((h, m.get_weights(), m))
    return out


@pytest.mark.parametrize("kind", ["dense", "deep"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{}, {"initial_epoch": 2}, {"sample_weight": np.array([1.0, 0.5, 2.0])},
                                {"shuffle": False}])
def test_the_early_step_trains_exactly_as_the_probed_fit(monkeypatch, kind, dtype, kw):
    taken = _spy(monkeypatch)
    (h, w, m), (h_ref, w_ref, m_ref) = _fit_both(kind, dtype, epochs=6, **kw)
    assert taken == [True]  # only the fit without callbacks tried it, and it was taken
    assert h.epoch == h_ref.epoch and h.history == h_ref.history and list(h.history) == ["loss"]
    assert all(type(v) is float for v in h.history["loss"])
    for a, b in zip(w, w_ref):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert m.training and all(l.training for l in m.layers)
    assert all(p.grad is None for p in m.parameters())
    assert h.model is m and h.params == h_ref.params


@pytest.mark.parametrize("y", [Y, Y[:, None]])
@pytest.mark.parametrize("loss", ["mse", "mae", losses.Huber(delta=0.5), losses.LogCosh()])
def test_targets_and_losses_of_the_early_step(monkeypatch, y, loss):
    taken = _spy(monkeypatch)
    (h, w, _), (h_ref, w_ref, _) = _fit_both(loss=loss, y=y, epochs=4)
    assert taken == [True] and h.history == h_ref.history
    for a, b in zip(w, w_ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["dropout", "lazy"])
def test_models_whose_forward_may_change_state_are_probed(monkeypatch, kind):
    taken = _spy(monkeypatch)
    (h, w, _), (h_ref, w_ref, _) = _fit_both(kind, epochs=3)
    assert taken == []  # never tried: Dropout draws random numbers, a lazy model builds at its first call
    assert h.history == h_ref.history


def test_a_layer_in_inference_mode_or_a_user_layer_is_probed(monkeypatch):
    taken = _spy(monkeypatch)
    m = _model("deep")
    m.layers[2].eval()
    m.fit(X, Y, epochs=2, verbose=0)

    class MyDense(Dense):
        pass

    tl.nn.clear_session()
    m2 = Sequential([MyDense(1, input_shape=(2,))])
    m2.compile(optimizer="sgd", loss="mse")
    m2.fit(X, Y, epochs=2, verbose=0)
    m3 = _model()
    with tl.detect_anomaly():
        m3.fit(X, Y, epochs=2, verbose=0)
    assert taken == []


def _state(m):
    return [p.data.copy() for p in m.parameters()], list(m.optimizer.params), [p.grad for p in m.parameters()]


@pytest.mark.parametrize("bad", [
    {"y": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])},  # y does not fit the output under the loss
    {"loss": losses.MeanSquaredError(reduction="none")},  # not a scalar
])
def test_errors_are_the_probes_own_and_come_before_any_state_change(monkeypatch, bad):
    taken = _spy(monkeypatch)
    errors = []
    for cbs in ([], [Nothing()]):
        m = _model(loss=bad.get("loss", "mse"))
        before = _state(m)
        with pytest.raises((ValueError, TypeError)) as e:
            m.fit(X, bad.get("y", Y), epochs=3, verbose=0, callbacks=cbs)
        errors.append((type(e.value), str(e.value)))
        after = _state(m)
        for a, b in zip(before[0], after[0]):
            np.testing.assert_array_equal(a, b)
        assert after[1] == before[1] == [] and after[2] == before[2]
    assert taken == [False]  # tried, refused, and the probe raised
    assert errors[0] == errors[1] and errors[0][1].startswith(("fit: y of shape", "fit: the loss must return"))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_first_step_stops_as_before(monkeypatch, capsys):
    taken = _spy(monkeypatch)
    big = X * 1e200
    (h, w, _), (h_ref, w_ref, _) = _fit_both(x=big, epochs=3)
    assert taken == [False]  # the overflow refused the early step; the probe path ran
    assert h.stop_reason == h_ref.stop_reason and h.stop_reason is not None
    assert h.epoch == h_ref.epoch == [] and h.history == h_ref.history
    for a, b in zip(w, w_ref):
        np.testing.assert_array_equal(a, b)
    assert capsys.readouterr().err.count("non-finite") == 2


def test_floating_point_warnings_are_shown_as_often_as_by_the_probed_fit(monkeypatch):
    counts = []
    for cbs in ([], [Nothing()]):
        m = _model()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            m.fit(X * 1e200, Y, epochs=2, verbose=0, callbacks=cbs)
        counts.append(sorted(str(w.message) for w in seen))
    assert counts[0] == counts[1] and counts[0]


def test_the_hooks_found_in_one_pass_are_those_of_the_hook_by_hook_test():
    class Begin(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            pass

    lam = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: None)
    for cbs in ([], [Begin()], [lam], [Begin(), lam, callbacks.EarlyStopping(monitor="loss")], [Nothing()]):
        history = callbacks.History()
        cl = callbacks.CallbackList(cbs + [history])
        hooks, epoch_end = training._hooks_used(cl)

        def own(cb, hook):
            return getattr(getattr(cb, hook), "__func__", None) is not getattr(callbacks.Callback, hook)

        assert hooks == frozenset(h for h in callbacks.HOOKS if any(own(cb, h) for cb in cl.callbacks))
        assert epoch_end == [cb for cb in cl.callbacks if own(cb, "on_epoch_end")]
        assert epoch_end[-1] is history


@pytest.mark.parametrize("verbose", [True, 3, -1, "1", 1.0, np.array(1)])
def test_verbose_is_refused_as_before(verbose):
    m = _model()
    with pytest.raises((TypeError, ValueError), match="fit: verbose must be 0, 1 or 2"):
        m.fit(X, Y, epochs=1, verbose=verbose)


def test_verbose_as_a_numpy_int_is_accepted():
    h = _model().fit(X, Y, epochs=2, verbose=np.int64(0))
    assert len(h.history["loss"]) == 2
