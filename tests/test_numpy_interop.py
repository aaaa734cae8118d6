"""NumPy functions and ufuncs on Tensors return recorded Tensors (issue 12)."""
import numpy as np
import pytest

import tinygrad_loss as tl

A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


@pytest.mark.parametrize("expr,op,reference", [
    (lambda t: np.exp(t), "exp", lambda a: np.exp(a)),
    (lambda t: np.log(np.abs(t)), "log", lambda a: np.log(np.abs(a))),
    (lambda t: t * np.ones(3), "mul", lambda a: a * np.ones(3)),
    (lambda t: np.ones(3) * t, "mul", lambda a: np.ones(3) * a),
    (lambda t: np.arange(3.0) - t, "sub", lambda a: np.arange(3.0) - a),
    (lambda t: np.mean(t), "mean", lambda a: np.mean(a)),
    (lambda t: np.sum(t, axis=0), "sum", lambda a: np.sum(a, axis=0)),
    (lambda t: np.max(t, axis=1, keepdims=True), "max", lambda a: np.max(a, axis=1, keepdims=True)),
    (lambda t: np.maximum(t, 0), "maximum", lambda a: np.maximum(a, 0)),
    (lambda t: np.tanh(t), "tanh", lambda a: np.tanh(a)),
    (lambda t: np.square(t), "pow", lambda a: np.square(a)),
    (lambda t: np.dot(t, t.T), "matmul", lambda a: np.dot(a, a.T)),
    (lambda t: np.matmul(t, np.ones((3, 2))), "matmul", lambda a: a @ np.ones((3, 2))),
    (lambda t: np.reshape(t, (3, 2)), "reshape", lambda a: np.reshape(a, (3, 2))),
    (lambda t: np.transpose(t), "permute", lambda a: a.T),
    (lambda t: np.concatenate([t, t], axis=1), "concatenate", lambda a: np.concatenate([a, a], axis=1)),
    (lambda t: np.where(A > 0, t, 0.0), "where", lambda a: np.where(a > 0, a, 0.0)),
    (lambda t: np.clip(t, -0.5, 1.0), "clip", lambda a: np.clip(a, -0.5, 1.0)),
])
def test_numpy_calls_return_recorded_tensors(expr, op, reference):
    t = tl.Tensor(A.copy(), requires_grad=True)
    out = expr(t)
    assert isinstance(out, tl.Tensor) and out.requires_grad
    assert out.op == op or (op == "pow" and out.op in ("pow", "square", "mul"))
    np.testing.assert_allclose(out.data, reference(A), rtol=1e-15)


def test_gradients_flow_through_numpy_calls():
    x = tl.Tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    res = tl.gradcheck(lambda t: np.mean(np.exp(t) * np.maximum(t, 0.0)), x)
    assert res, str(res)
    res = tl.gradcheck(lambda t: np.sum(np.log(np.square(t) + 1.0), axis=0), tl.Tensor(A.copy(), requires_grad=True))
    assert res, str(res)
    y = np.mean(np.exp(x))
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data) / 3, rtol=1e-15)


def test_unsupported_numpy_function_names_itself():
    t = tl.Tensor(A.copy(), requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.sin on a Tensor: this ufunc has no differentiable op"):
        np.sin(t)
    with pytest.raises(TypeError, match=r"numpy\.median on a Tensor: this function has no differentiable op"):
        np.median(t)
    with pytest.raises(TypeError, match=r"numpy\.cumsum on a Tensor"):
        np.cumsum(t)
    with pytest.raises(TypeError, match=r"numpy\.sum on a Tensor: the argument\(s\) dtype are not supported"):
        np.sum(t, dtype=np.float32)
    with pytest.raises(TypeError, match=r"numpy\.add\.reduce on a Tensor"):
        np.add.reduce(t)
    with pytest.raises(TypeError, match=r"t\.numpy\(\)"):
        np.sin(t)


def test_questions_about_a_tensor_are_answered_from_its_data():
    t = tl.Tensor(np.array([1.0, np.nan]))
    assert np.shape(t) == (2,) and np.ndim(t) == 1
    np.testing.assert_array_equal(np.isnan(t), [False, True])
    assert np.allclose(tl.Tensor([1.0, 2.0]), [1.0, 2.0])
    assert type(np.isnan(t)) is np.ndarray


def test_in_place_ufunc_on_a_plain_array_computes_on_the_data():
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="w")
    (w * w).sum().backward()
    data = w.data
    w.data -= 0.1 * w.grad                 # micrograd style: the gradient is a Tensor, the update is not recorded
    assert w.data is data and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.data, [0.8, 1.6], rtol=1e-15)
    acc = np.zeros(2)
    acc += w                               # an ndarray accumulator stays an ndarray
    assert type(acc) is np.ndarray
    np.testing.assert_allclose(acc, [0.8, 1.6], rtol=1e-15)


def test_out_must_not_be_an_unrelated_tensor():
    t, u = tl.Tensor([1.0, 2.0]), tl.Tensor([0.0, 0.0])
    with pytest.raises(TypeError, match=r"numpy\.exp on a Tensor: out= may be a Tensor only as"):
        np.exp(t, out=u)
