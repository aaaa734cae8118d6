"""Assertions that close the gaps mutation testing found (issue 19).

Each test names, in its docstring, the single-line bug ("mutant") planted in the package to see
it fail; every one of them was run against that mutant and failed, then passed again on the
unmodified code. Expected values come from NumPy formulas written here, never from the library.
"""
import math
import os
import re

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import callbacks, losses, metrics, optim
from tinygrad_loss.nn import Dense, Sequential


# --- 1. leaf gradients never share one array ----------------------------------------------------------

def _graph_tensors(root):
    seen, out, todo = set(), [], [root]
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        todo.extend(t.parents)
    return out


def _scalar(v):
    return tl.Tensor(np.float64(v), requires_grad=True)


def _vector(*v):
    return tl.Tensor(np.array(v, dtype=np.float64), requires_grad=True)


# Ops whose VJP hands the upstream gradient on unchanged (or as a view of it), each with scalar
# and vector leaves. Every builder returns (output, leaves).
PASS_THROUGH = {
    "add scalars": lambda: (lambda a, b: (a + b, [a, b]))(_scalar(2.0), _scalar(3.0)),
    "add vectors": lambda: (lambda a, b: (a + b, [a, b]))(_vector(1.0, 2.0, 3.0), _vector(4.0, 5.0, 6.0)),
    "add chain of three": lambda: (lambda a, b, c: ((a + b) + c, [a, b, c]))(_vector(1.0, 2.0), _vector(3.0, 4.0),
                                                                                _vector(5.0, 6.0)),
    "add broadcast": lambda: (lambda a, b: (a + b, [a, b]))(_scalar(2.0), _vector(4.0, 5.0, 6.0)),
    "sub scalars": lambda: (lambda a, b: (a - b, [a, b]))(_scalar(2.0), _scalar(3.0)),
    "sub vectors": lambda: (lambda a, b: (a - b, [a, b]))(_vector(1.0, 2.0), _vector(4.0, 5.0)),
    "add then sub": lambda: (lambda a, b, c: (a + b - c, [a, b, c]))(_scalar(1.0), _scalar(2.0), _scalar(3.0)),
    "reshape vectors": lambda: (lambda a, b: (a.reshape(2, 2) + b.reshape(2, 2), [a, b]))(
        _vector(1.0, 2.0, 3.0, 4.0), _vector(5.0, 6.0, 7.0, 8.0)),
    "reshape scalars": lambda: (lambda a, b: (a.reshape(1, 1) + b.reshape(1, 1), [a, b]))(_scalar(1.0), _scalar(2.0)),
    "reshape to own shape": lambda: (lambda a, b: (a.reshape(3) + b, [a, b]))(_vector(1.0, 2.0, 3.0),
                                                                              _vector(4.0, 5.0, 6.0)),
    "expand scalars": lambda: (lambda a, b: (a.expand(3) + b.expand(3), [a, b]))(_scalar(1.0), _scalar(2.0)),
    "expand vectors": lambda: (lambda a, b: (tl.expand(a.reshape(1, 2), (2, 2)) + b, [a, b]))(
        _vector(1.0, 2.0), tl.Tensor(np.ones((2, 2)), requires_grad=True)),
    "expand to own shape": lambda: (lambda a, b: (a.expand(2) + b, [a, b]))(_vector(1.0, 2.0), _vector(3.0, 4.0)),
    "getitem vectors": lambda: (lambda a, b: (a[0:2] + b[1:3], [a, b]))(_vector(1.0, 2.0, 3.0), _vector(4.0, 5.0, 6.0)),
    "getitem scalars": lambda: (lambda a, b: (a[None] + b[None], [a, b]))(_scalar(1.0), _scalar(2.0)),
    "getitem everything": lambda: (lambda a, b: (a[...] + b[:], [a, b]))(_vector(1.0, 2.0), _vector(3.0, 4.0)),
    "concatenate vectors": lambda: (lambda a, b: (tl.concatenate([a, b]), [a, b]))(_vector(1.0, 2.0), _vector(3.0)),
    "concatenate one": lambda: (lambda a, b: (tl.concatenate([a]) + b, [a, b]))(_vector(1.0, 2.0), _vector(3.0, 4.0)),
    "stack scalars": lambda: (lambda a, b: (tl.stack([a, b]), [a, b]))(_scalar(1.0), _scalar(2.0)),
    "stack vectors": lambda: (lambda a, b: (tl.stack([a, b], axis=1), [a, b]))(_vector(1.0, 2.0), _vector(3.0, 4.0)),
    "where scalars": lambda: (lambda a, b: (tl.where(True, a, b) + tl.where(False, a, b), [a, b]))(
        _scalar(1.0), _scalar(2.0)),
    "where vectors": lambda: (lambda a, b: (tl.where(np.array([True, False]), a, b), [a, b]))(
        _vector(1.0, 2.0), _vector(3.0, 4.0)),
    "astype scalars": lambda: (lambda a, b: (a.astype(np.float32) + b.astype(np.float32), [a, b]))(
        _scalar(1.0), _scalar(2.0)),
    "astype to own dtype": lambda: (lambda a, b: (tl.astype(a, np.float64) + tl.astype(b, np.float64), [a, b]))(
        _vector(1.0, 2.0), _vector(3.0, 4.0)),
    "unary plus and squeeze": lambda: (lambda a, b: ((+a) + tl.squeeze(b.reshape(2, 1)), [a, b]))(
        _vector(1.0, 2.0), _vector(3.0, 4.0)),
}


def _backward_roots(out):
    """Three ways the seed reaches the graph: the implicit 1 of a scalar, an explicit gradient
    array, and a weighted sum (the VJP of mul makes a fresh array that add then passes on)."""
    yield "implicit", (lambda: out.sum().backward()) if out.ndim else (lambda: out.backward())
    yield "explicit", lambda: out.backward(gradient=np.full(out.shape, 0.5, dtype=out.dtype))
    w = np.arange(1.0, 1.0 + out.size).reshape(out.shape).astype(out.dtype)
    yield "weighted", lambda: (out * tl.Tensor(w)).sum().backward()


@pytest.mark.parametrize("case", sorted(PASS_THROUGH))
def test_leaf_gradients_never_share_memory(case):
    """Mutants: in ``autograd._run`` drop ``id(d) in handed_out or`` from the copy condition
    (so every add/sub-reached leaf keeps the very array its consumer was given), or delete the
    copy altogether. Either makes ``a.grad.data`` and ``b.grad.data`` one array: this test fails."""
    for how in ("implicit", "explicit", "weighted"):
        out, leaves = PASS_THROUGH[case]()
        dict(_backward_roots(out))[how]()
        tensors = [t for t in _graph_tensors(out) if t.grad is not None]
        grads = {id(t): t.grad.data for t in tensors}
        for leaf in leaves:
            assert leaf.grad is not None and leaf.grad.data.flags.writeable, (case, how)
            for other in tensors:
                if other is not leaf:
                    assert not np.shares_memory(leaf.grad.data, grads[id(other)]), (case, how, other.op)
        # an in-place edit of one leaf's gradient (clipping, zero_) leaves every other gradient alone
        before = {k: v.copy() for k, v in grads.items()}
        leaves[0].grad.data *= 10
        for t in tensors:
            if t is not leaves[0]:
                np.testing.assert_array_equal(t.grad.data, before[id(t)], err_msg=f"{case}, {how}")


def test_issue_example_add_then_scale_one_gradient():
    """The issue's words: after ``s = a + b; s.backward()``, ``a.grad.data *= 10`` must not change
    ``b.grad``. Mutant: the ``handed_out`` guard removed (see above)."""
    a, b = _scalar(2.0), _scalar(3.0)
    s = a + b
    s.backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 10
    assert a.grad.item() == 10.0 and b.grad.item() == 1.0 and s.grad.item() == 1.0


# --- 2. a scalar sample weight with mean_with_sample_weight -------------------------------------------

def test_mean_with_sample_weight_scalar_weight_is_the_unweighted_mean():
    """Σ w l / Σ w with a scalar w (broadcast to every sample) is the plain mean. Mutant: the
    denominator ``np.sum(sw.data)`` without broadcasting (= 2 instead of 2 n)."""
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.5], [1.0], [3.0], [6.0]])
    per_sample = ((y - p) ** 2).mean(axis=-1)
    plain = losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, p)
    weighted = losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, p, sample_weight=2.0)
    np.testing.assert_allclose(plain.item(), per_sample.mean(), rtol=1e-12)
    np.testing.assert_allclose(weighted.item(), per_sample.mean(), rtol=1e-12)
    w = np.array([1.0, 0.0, 2.0, 1.0])  # and a vector weight: Σ w l / Σ w
    vec = losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, p, sample_weight=w)
    np.testing.assert_allclose(vec.item(), (w * per_sample).sum() / w.sum(), rtol=1e-12)


# --- 3. logsumexp / softmax over several axes ---------------------------------------------------------

@pytest.mark.parametrize("axes, shape", [((0, 1), (2, 3, 4)), ((1, 0), (2, 3, 4)), ((0, 2), (2, 3, 4, 5)),
                                         ((0, 1, 3), (2, 3, 2, 4)), ((-1, 0), (3, 2, 4))])
def test_logsumexp_over_several_axes_has_exp_minus_lse_gradient(axes, shape):
    """``logsumexp(x, axis=(0, 1))`` on (2, 3, 4) moves axis 2 first: the permutation (2, 0, 1) is not
    its own inverse. Mutant: ``_softmax_over`` undoing it with ``perm`` instead of ``argsort(perm)``."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=shape)
    X = tl.Tensor(x, requires_grad=True)
    for keepdims in (False, True):
        X.grad = None
        out = tl.logsumexp(X, axis=axes, keepdims=keepdims)
        lse = np.log(np.exp(x).sum(axis=axes, keepdims=True))
        np.testing.assert_allclose(out.data, lse if keepdims else np.squeeze(lse, axis=axes), rtol=1e-12)
        w = rng.normal(size=out.shape)
        (out * tl.Tensor(w)).sum().backward()
        w_kd = w if keepdims else np.expand_dims(w, tuple(a % len(shape) for a in axes))
        np.testing.assert_allclose(X.grad.data, w_kd * np.exp(x - lse), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax_gradients_on_a_middle_axis(axis):
    """VJPs of softmax and log_softmax along each axis of a 3-D tensor against the Jacobian formulas
    ``s (g - Σ g s)`` and ``g - s Σ g``. Mutants: the sum in either VJP over the wrong axis."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 4))
    g = rng.normal(size=x.shape)
    s = np.exp(x - x.max(axis=axis, keepdims=True))
    s /= s.sum(axis=axis, keepdims=True)
    X = tl.Tensor(x, requires_grad=True)
    tl.softmax(X, axis=axis).backward(gradient=g)
    np.testing.assert_allclose(X.grad.data, s * (g - (g * s).sum(axis=axis, keepdims=True)), rtol=1e-10, atol=1e-14)
    X.grad = None
    tl.log_softmax(X, axis=axis).backward(gradient=g)
    np.testing.assert_allclose(X.grad.data, g - s * g.sum(axis=axis, keepdims=True), rtol=1e-10, atol=1e-14)


# --- 4 and 5. fit's batch order, evaluate's and val_loss's batch weighting ----------------------------

X5 = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0], [-1.0, 0.5], [0.0, 1.0]])
Y5 = np.array([[3.0], [5.0], [7.0], [-1.0], [2.0]])
K0 = np.array([[0.4], [-0.3]])
B0 = np.array([0.1])


def _linear():
    tl.nn.clear_session()
    model = Sequential([Dense(1, input_shape=(2,), dtype="float64")])
    model.set_weights([K0, B0])
    return model


def _numpy_sgd(x, y, k, b, orders, batch_size, lr):
    """Keras's SGD on mean squared error, by hand, feeding the samples of each epoch in ``orders[e]``."""
    k, b, hist = k.copy(), b.copy(), []
    for order in orders:
        total = 0.0
        for s in range(0, len(x), batch_size):
            idx = order[s:s + batch_size]
            r = x[idx] @ k + b - y[idx]
            total += np.mean(r ** 2) * len(idx)
            k, b = k - lr * 2.0 * x[idx].T @ r / len(idx), b - lr * 2.0 * r.sum(0) / len(idx)
        hist.append(total / len(x))
    return hist, k, b


def test_fit_shuffle_feeds_batches_in_the_seeded_permutation_order():
    """Under ``manual_seed(s)`` each epoch draws ``permutation(n)`` from the project's generator
    (PCG64 seeded with s, as ``np.random.default_rng(s)``), one new permutation per epoch.
    Mutants: ``shuffle`` ignored (``order = None``); one permutation drawn before the epoch loop and
    reused; the permutation reversed. Each changes the recorded y batches and the history."""
    fed = []

    def recording_mse(y_true, y_pred):
        fed.append(np.asarray(y_true, dtype=np.float64).ravel().tolist())
        return losses.MeanSquaredError()(y_true, y_pred)

    epochs, bs, lr, seed = 3, 2, 0.01, 11
    model = _linear()
    model.compile(optimizer=optim.SGD(learning_rate=lr), loss=recording_mse)
    tl.manual_seed(seed)
    hist = model.fit(X5, Y5, epochs=epochs, batch_size=bs, shuffle=True, verbose=0).history["loss"]
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(len(X5)) for _ in range(epochs)]
    expected_batches = [Y5[o[s:s + bs]].ravel().tolist() for o in orders for s in range(0, len(X5), bs)]
    assert fed[-len(expected_batches):] == expected_batches  # fit may probe the loss once before training
    ref, k, b = _numpy_sgd(X5, Y5, K0, B0, orders, bs, lr)
    np.testing.assert_allclose(hist, ref, rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[0], k, rtol=1e-12)
    # and without shuffling the samples go in order, which gives another history
    model = _linear()
    model.compile(optimizer=optim.SGD(learning_rate=lr), loss="mse")
    tl.manual_seed(seed)
    plain = model.fit(X5, Y5, epochs=epochs, batch_size=bs, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(plain, _numpy_sgd(X5, Y5, K0, B0, [np.arange(5)] * epochs, bs, lr)[0], rtol=1e-12)
    assert not np.allclose(plain, hist, rtol=1e-9, atol=0)


def _whole_set_mse(model, x, y):
    k, b = model.get_weights()
    return float(np.mean((x @ k + b - y) ** 2))


def test_evaluate_with_a_ragged_last_batch_is_the_whole_set_loss():
    """n = 5 in batches of 2, 2, 1: the batch losses are averaged with their sizes as weights.
    Mutant: ``loss_sum += lv`` and ``seen += 1`` (a plain mean of the three batch means) in
    ``_evaluate_arrays``, or the batch weight ``len(idx)`` replaced by ``batch_size``."""
    model = _linear()
    model.compile(optimizer="sgd", loss="mse")
    for bs in (1, 2, 3, 5, 32):
        got = model.evaluate(X5, Y5, batch_size=bs, verbose=0)
        np.testing.assert_allclose(got, _whole_set_mse(model, X5, Y5), rtol=1e-12, err_msg=f"batch_size={bs}")


def test_fit_val_loss_is_the_whole_validation_set_loss():
    """``val_loss`` at the end of each epoch is the loss on the whole validation set with that epoch's
    final weights, batched like evaluate. Mutants: as for evaluate (unweighted batch means)."""
    xv = np.array([[0.5, 1.0], [1.5, -1.0], [2.0, 2.0], [-0.5, 0.0], [1.0, 1.0]])
    yv = np.array([[1.0], [0.0], [4.0], [-2.0], [3.0]])
    seen = []
    grab = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (logs["val_loss"], _whole_set_mse(model, xv, yv))))
    model = _linear()
    model.compile(optimizer=optim.SGD(learning_rate=0.01), loss="mse")
    hist = model.fit(X5, Y5, epochs=2, batch_size=2, shuffle=False, validation_data=(xv, yv), verbose=0,
                     callbacks=[grab])
    assert len(seen) == 2
    for got, want in seen:
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(hist.history["val_loss"], [w for _, w in seen], rtol=1e-12)


# --- 6. ModelCheckpoint compares strictly ------------------------------------------------------------

@pytest.mark.parametrize("monitor, values, saves", [
    ("val_loss", [1.0, 1.0, 0.5, 0.5, 0.7], [1, 3]),
    ("val_accuracy", [0.5, 0.5, 0.75, 0.75, 0.25], [1, 3]),
])
def test_model_checkpoint_best_only_saves_on_strict_improvement(tmp_path, monitor, values, saves):
    """Keras saves when the monitored value is strictly better: an equal value is no improvement.
    Mutant: ``current <= self.best`` (or ``>=`` in max mode) in ``on_epoch_end``."""
    model = _linear()
    cb = callbacks.ModelCheckpoint(str(tmp_path / "best-{epoch}.npz"), monitor=monitor, save_best_only=True)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, v in enumerate(values):
        cb.on_epoch_end(epoch, {monitor: v})
    assert cb.saved == [str(tmp_path / f"best-{e}.npz") for e in saves]
    assert sorted(os.listdir(tmp_path)) == sorted(f"best-{e}.npz" for e in saves)


# --- 7 and 8. metrics at their boundaries ------------------------------------------------------------

def test_binary_accuracy_threshold_is_strict():
    """``y_pred > 0.5`` is class 1, so 0.5 itself is class 0 (Keras). Mutant: ``>=``."""
    assert metrics.binary_accuracy([[0.0]], [[0.5]]).tolist() == [1.0]
    assert metrics.binary_accuracy([[1.0]], [[0.5]]).tolist() == [0.0]
    assert metrics.binary_accuracy([[1.0]], [[0.50001]]).tolist() == [1.0]
    assert metrics.binary_accuracy([[0.0, 1.0]], [[0.7, 0.7]], threshold=0.7).tolist() == [0.5]


def test_mean_metric_weights_its_count():
    """``Mean`` divides Σ w v by Σ w. Mutant: the weighted branch counting ``v.size`` instead of Σ w."""
    m = metrics.Mean()
    m.update_state([1.0, 3.0], sample_weight=[1.0, 0.0])
    assert m.result() == 1.0
    m.update_state([5.0], sample_weight=[3.0])
    assert m.result() == (1.0 + 15.0) / 4.0
    m.reset_state()
    m.update_state([2.0, 4.0], sample_weight=2.0)  # a scalar weight counts once per value
    assert m.result() == 3.0 and m.count == 4.0


# --- 9. the backprop step pictures show the running sum ------------------------------------------------

def _row(dot, title):
    """(kind, value) of the gradient row of the node titled ``title`` in a step's DOT: kind is
    "grad" or "grad so far", the value as printed (4 significant digits)."""
    lines = [ln for ln in dot.splitlines() if f"<B>{title}</B>" in ln]
    assert len(lines) == 1, lines
    text = re.sub(r"<[^>]+>", " ", lines[0]).replace("&#160;", " ")
    rows = re.findall(r"(grad(?: so far)?) (-?[\d.]+(?:e[-+]?\d+)?)", text)
    assert len(rows) == 1, rows
    return rows[0][0], float(rows[0][1])


def _shows(dot, title, kind, value):
    got_kind, got = _row(dot, title)
    return got_kind == kind and math.isclose(got, value, rel_tol=1e-3)


def test_backprop_steps_label_the_complete_sum_when_the_last_consumer_runs():
    """For ``s = exp(a) + 3 a`` at a = 2: when the second of a's two consumers sends its term, a's
    label reads the full ``e² + 3`` (10.39), not that last term alone (7.389 or 3).
    Mutant: in ``backprop_steps`` the running sum overwritten (``sums[id(t)] = np.array(g.data)``)."""
    a = tl.Tensor(2.0, requires_grad=True, name="a")
    s = tl.exp(a) + 3.0 * a
    steps = tl.backprop_steps(s)
    senders = [k for k, st in enumerate(steps) if k and any(p is a for p in st.tensor.parents)]
    assert len(senders) == 2
    first, last = senders
    first_term = 3.0 if steps[first].tensor.op == "mul" else math.exp(2.0)
    assert _shows(steps[first].dot, "a", "grad so far", first_term), _row(steps[first].dot, "a")
    assert _shows(steps[last].dot, "a", "grad", math.exp(2.0) + 3.0), _row(steps[last].dot, "a")
    assert f"{math.exp(2.0) + 3.0:.4g}" == "10.39"


def test_backprop_steps_partial_sum_after_two_of_three_terms():
    """``s = exp(a) + 3 a + a²`` at a = 2 (terms e², 3, 2a = 4): after two consumers a reads the sum of
    those two terms as "grad so far", after the third the total. Mutant: as above (overwritten sum)."""
    a = tl.Tensor(2.0, requires_grad=True, name="a")
    s = tl.exp(a) + 3.0 * a + a * a
    steps = tl.backprop_steps(s)
    senders = [k for k, st in enumerate(steps) if k and any(p is a for p in st.tensor.parents)]
    assert len(senders) == 3
    sent = []
    for k in senders:
        st = steps[k]
        if st.tensor.op == "exp":
            sent.append(math.exp(2.0))
        else:  # the two muls: 3 a sends 3, a a sends a twice (2 a = 4) at one step
            sent.append(3.0 if any(p.data.size == 1 and p.data.item() == 3.0 for p in st.tensor.parents) else 4.0)
    assert sorted(sent) == sorted([math.exp(2.0), 3.0, 4.0])
    partial = [sent[0], sent[0] + sent[1], sum(sent)]
    for k, kind, value in zip(senders, ("grad so far", "grad so far", "grad"), partial):
        assert _shows(steps[k].dot, "a", kind, value), (k, _row(steps[k].dot, "a"), value)
