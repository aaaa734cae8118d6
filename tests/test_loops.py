"""Hand-written training loops, as each school writes them, land on the NumPy reference (issue 12).

The TensorFlow loops (GradientTape, apply_gradients) are in tests/test_tf_compat.py."""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss.optim import SGD
from loop_reference import B0, LR, STEPS, W0, X, Y, reference_trajectory


def _params():
    return tl.Tensor(W0.copy(), requires_grad=True, name="w"), tl.Tensor(B0.copy(), requires_grad=True, name="b")


def _check(losses, w, b):
    ref_losses, ref_w, ref_b = reference_trajectory()
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(w.data, ref_w, rtol=1e-10)
    np.testing.assert_allclose(b.data, ref_b, rtol=1e-10)
    assert w.is_leaf and w.requires_grad and w.dtype == np.float64


def test_micrograd_style_updates_data_in_place():
    w, b = _params()
    losses = []
    for _ in range(STEPS):
        loss = ((X @ w + b - Y) ** 2).mean()
        w.grad = b.grad = None
        loss.backward()
        w.data -= LR * w.grad
        b.data -= LR * b.grad
        losses.append(loss.item())
    _check(losses, w, b)


def test_micrograd_style_assigns_data():
    w, b = _params()
    losses = []
    for _ in range(STEPS):
        loss = ((tl.Tensor(X) @ w + b - tl.Tensor(Y)) ** 2).mean()
        w.zero_grad()
        b.zero_grad()
        loss.backward()
        w.data = w.data - LR * w.grad
        b.data = b.data - LR * b.grad
        losses.append(float(loss))
    _check(losses, w, b)


def test_pytorch_style_in_place_under_no_grad():
    w, b = _params()
    w_obj, losses = w, []
    for _ in range(STEPS):
        loss = ((X @ w + b - Y) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
        w.grad.zero_()
        b.grad.zero_()
        losses.append(loss.item())
    assert w is w_obj
    _check(losses, w, b)


def test_optimizer_class_loop():
    w, b = _params()
    opt, losses = SGD([w, b], learning_rate=LR), []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = tl.mean(tl.square(tl.matmul(tl.Tensor(X), w) + b - Y))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    _check(losses, w, b)


def test_out_of_place_update_outside_no_grad_gets_a_message_that_names_the_real_fix():
    w, b = _params()
    with pytest.raises(tl.GraphReleasedError) as e:
        for _ in range(3):
            loss = ((X @ w + b - Y) ** 2).mean()
            loss.backward()
            w = w - LR * w.grad                      # the new w is a node of the old graph
    assert "with no_grad(): w -= lr * w.grad" in str(e.value)


# --- PyTorch conveniences a loop uses -----------------------------------------------------------

def test_size_is_a_count_and_callable_like_pytorch():
    t = tl.Tensor(np.zeros((2, 3)))
    assert t.size == 6 and isinstance(t.size, int)
    assert t.size() == (2, 3) and t.size(0) == 2 and t.size(-1) == 3
    with pytest.raises(IndexError, match="size: dim 2 is out of range for a tensor with 2 dimension"):
        t.size(2)


def test_view_reshapes():
    t = tl.Tensor(np.arange(6.0), requires_grad=True)
    v = t.view(2, 3)
    assert v.shape == (2, 3) and v.op == "reshape"
    assert t.view(-1).shape == (6,)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "logsumexp"])
def test_dim_and_keepdim_are_aliases_on_reductions(name):
    a = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    t = tl.Tensor(a)
    method = getattr(t, name)
    np.testing.assert_array_equal(method(dim=1, keepdim=True).data, method(axis=1, keepdims=True).data)
    np.testing.assert_array_equal(getattr(tl, name)(t, dim=0).data, method(axis=0).data)
    assert method(dim=0, keepdim=True).shape == (1, 3)
    with pytest.raises(TypeError, match=rf"{name}: got both axis=0 and dim=1"):
        method(axis=0, dim=1)
    with pytest.raises(TypeError, match=rf"{name}: got both keepdims=True and keepdim=True"):
        method(keepdims=True, keepdim=True)


def test_dim_on_softmax_and_argmax():
    a = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    t = tl.Tensor(a)
    np.testing.assert_array_equal(t.softmax(dim=0).data, t.softmax(axis=0).data)
    np.testing.assert_array_equal(tl.log_softmax(t, dim=0).data, tl.log_softmax(t, axis=0).data)
    np.testing.assert_array_equal(tl.argmax(t, dim=1).data, [0, 0])
    assert tl.argmin(t, dim=1, keepdim=True).shape == (2, 1)
    with pytest.raises(TypeError, match="softmax: got both axis=0 and dim=1"):
        t.softmax(axis=0, dim=1)


def test_format_of_a_one_element_tensor():
    loss = tl.Tensor(np.array(0.123456))
    assert f"{loss:.3f}" == "0.123" and f"{tl.Tensor([[2.5]]):>6.2f}" == "  2.50"
    assert f"{loss}" == str(loss)
    with pytest.raises(TypeError, match=r"unsupported format string '.3f' for a Tensor of shape \(2,\)"):
        f"{tl.Tensor([1.0, 2.0]):.3f}"
