"""Engine entry points at their edges (trace_backward, grad, backward): tests written for the
mutants mutmut left alive in tinygrad_loss/autograd.py (issue 19). Expected gradients are NumPy
formulas; each test names the kind of mutant it kills."""
import contextlib

import numpy as np
import pytest

import tinygrad_loss as tl


def _leaf_visits(events, leaf):
    return [payload for event, t, payload in events if event == "visit" and t is leaf]


def test_trace_backward_uses_the_given_seeds_and_keeps_the_graph():
    """Mutants: grad_outputs ignored (every seed the default ones, an error for a vector output), the
    graph released (retain_graph False) or recorded (create_graph True), or .grad written."""
    x = tl.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * x                                     # dy/dx = 2x
    g = np.array([0.5, -1.0, 2.0])
    for seeds in (tl.Tensor(g), [g], (tl.Tensor(g),)):
        events = tl.trace_backward(y, grad_outputs=seeds)
        (vx,) = _leaf_visits(events, x)
        np.testing.assert_allclose(vx.data, 2 * np.array([1.0, 2.0, 3.0]) * g)
        assert all(not p.requires_grad for e, _, p in events if e == "visit")
    assert x.grad is None and y.grad is None      # nothing stored
    y.backward(gradient=g)                        # the graph is still there
    np.testing.assert_allclose(x.grad.data, 2 * np.array([1.0, 2.0, 3.0]) * g)


def test_trace_backward_two_outputs_and_a_count_mismatch():
    a = tl.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    u, v = a * 3.0, a * a
    events = tl.trace_backward([u, v], grad_outputs=[np.array([1.0, 1.0]), np.array([2.0, 0.5])])
    (va,) = _leaf_visits(events, a)
    np.testing.assert_allclose(va.data, 3.0 * np.ones(2) + 2 * a.data * np.array([2.0, 0.5]))
    with pytest.raises(ValueError, match="trace_backward: got 2 outputs but 1 grad_outputs"):
        tl.trace_backward([u, v], grad_outputs=[np.ones(2)])
    with pytest.raises(RuntimeError, match="non-scalar"):
        tl.trace_backward(u)


def _backward_error(loss):
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    return str(info.value)


@pytest.mark.parametrize("name", ["w", None])
def test_stale_input_error_names_op_tensor_versions_and_the_fix(name):
    """Mutants: any change to the in-place error's wording, its name/shape parts or its version numbers."""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = tl.Tensor(np.array([3.0, 4.0]), name=name)
    y = x * w
    with tl.no_grad():
        w += 1
    tensor = "the tensor 'w' of shape (2,)" if name else "the tensor of shape (2,)"
    assert _backward_error(y.sum()) == (
        f"backward: an input of 'mul' (scope -), {tensor}, was modified in place after the op used it "
        "(version 1, the op saw version 0), so the gradient would be wrong. Compute the result again after the "
        "change, or change a new tensor (`t = t - x` instead of `t -= x`)")


@pytest.mark.parametrize("name", ["y", None])
def test_stale_output_error_names_op_tensor_versions_and_the_fix(name):
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with tl.name_scope("block"):
        y = tl.exp(x)
    y.name = name
    z = y.sum()
    with tl.no_grad():
        y += 1
        y += 1
    named = " 'y'" if name else ""
    assert _backward_error(z) == (
        f"backward: the output of 'exp' (scope block){named}, of shape (2,), was modified in place after it was "
        "computed (version 2, the op saw version 0), so the gradient would be wrong. Compute the result again "
        "after the change, or change a new tensor (`t = t - x` instead of `t -= x`)")


def test_grad_results_never_share_an_array():
    # add hands the same upstream array to both parents: the two results must still be separate,
    # or an in-place edit of one (clipping, zero_()) would silently change the other.
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    b = tl.Tensor([3.0, 4.0], requires_grad=True)
    ga, gb = tl.grad((a + b).sum(), [a, b])
    assert ga is not gb and not np.shares_memory(ga.data, gb.data)
    ga.data *= 10
    np.testing.assert_array_equal(gb.data, [1.0, 1.0])


def test_enable_grad_as_a_bare_decorator_records_inside_no_grad():
    """``@enable_grad`` without parentheses (documented beside ``@no_grad``). Mutants: the decorated
    function run with recording off (``_GradMode(False)(func)`` or ``_GradMode(None)(func)``)."""
    @tl.enable_grad
    def cube(t):
        assert tl.is_grad_enabled()
        return t * t * t

    x = tl.Tensor(2.0, requires_grad=True)
    with tl.no_grad():
        y = cube(x)
        assert not tl.is_grad_enabled()        # switched back off after the call
    assert cube.__name__ == "cube"
    assert y.requires_grad
    y.backward()
    assert x.grad.item() == 12.0               # d x³/dx = 3 x² at 2


def _events(x, y):
    """The engine's events for ``y = x * x`` with ``x = 3``, written out by hand: the seed 1 reaches y,
    y is complete, mul's VJP sends 2 x = 6 to x (once per operand: 3 and 3, summed), x is complete."""
    x, y = id(x), id(y)
    return [("contribution", y, None, 1.0), ("visit", y, None, 1.0),
            ("contribution", x, y, 3.0), ("contribution", x, y, 3.0), ("visit", x, None, 6.0)]


def _as_rows(events):
    rows = []
    for event, t, payload in events:
        consumer, g = payload if event == "contribution" else (None, payload)
        rows.append((event, id(t), consumer if consumer is None else id(consumer), float(np.asarray(g.data))))
    return rows


def test_grad_tells_its_observer_every_step():
    """``grad(..., observer=f)`` reports the pass as ``backward`` does. Mutants: the observer dropped
    (``observer and STATE.anomaly``, or ``None`` passed on)."""
    x = tl.Tensor(3.0, requires_grad=True)
    y = x * x
    seen = []
    (gx,) = tl.grad(y, x, observer=lambda *e: seen.append(e))
    assert gx.item() == 6.0
    assert _as_rows(seen) == _events(x, y)


def test_grad_under_detect_anomaly_reports_a_non_finite_gradient():
    """Without an observer, ``grad`` checks every contribution while ``detect_anomaly()`` is on, as
    ``backward`` does. Mutants: ``observer or STATE.anomaly`` losing the anomaly checker."""
    x = tl.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    s = tl.sqrt(x).sum()                        # d√x/dx = 1 / (2√x) is inf at 0
    with tl.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(tl.AnomalyError, match="sqrt"):
            tl.grad(s, x, retain_graph=True)
    with np.errstate(divide="ignore"):
        (g,) = tl.grad(s, x)                        # outside: the inf is returned
    assert np.isinf(g.data[0]) and g.data[1] == 0.25


@pytest.mark.parametrize("call, error, message", [
    (lambda x, y: tl.grad(y, tl.Tensor(1.0)), ValueError,
     "grad: every input must be a Tensor with requires_grad=True"),
    (lambda x, y: tl.grad([y, y], x, grad_outputs=[np.ones(2)]), ValueError, "grad: got 2 outputs but 1 grad_outputs"),
    (lambda x, y: tl.grad(y, x, grad_outputs=np.ones(2)), ValueError,
     "grad: grad_outputs has shape (2,) but the output has shape (3,); they must match"),
    (lambda x, y: tl.grad(y, x), RuntimeError, "grad: a grad_outputs argument is needed for a non-scalar output "
     "of shape (3,)"),
    (lambda x, y: tl.grad(tl.Tensor([1.0, 2.0, 3.0]), x, grad_outputs=np.ones(3)), RuntimeError,
     "grad: an output does not require a gradient (it does not depend on any input)"),
    (lambda x, y: tl.grad(y, x, grad_outputs="a"), TypeError, "grad: grad_outputs"),
    (lambda x, y: tl.grad(y, [], grad_outputs=np.ones(3)), TypeError,
     "grad: inputs must be a Tensor or a non-empty list of Tensors, got []"),
    (lambda x, y: tl.grad([], x), TypeError, "grad: outputs must be a Tensor or a non-empty list of Tensors, got []"),
])
def test_grad_argument_errors_name_grad_and_the_argument(call, error, message):
    """Each bad argument of ``grad`` is named in its error. Mutants: the messages' names or numbers
    changed, the outputs/inputs labels swapped, a check dropped."""
    x = tl.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    with pytest.raises(error) as info:
        call(x, y)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize("seed", [np.array([1.0, -2.0]), tl.Tensor(np.array([1.0, -2.0]))])
def test_grad_results_never_share_an_array_with_an_explicit_seed(seed):
    """add hands its upstream gradient, here the seed array itself (no read-only view in between), to
    both inputs. Mutants in ``grad``'s ``pick``: ``handed_out.add(None)`` / ``add(id(None))``, so
    the second input is given the very array returned for the first."""
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    b = tl.Tensor([3.0, 4.0], requires_grad=True)
    ga, gb = tl.grad(a + b, [a, b], grad_outputs=seed)
    np.testing.assert_array_equal(ga.data, [1.0, -2.0])
    assert not np.shares_memory(ga.data, gb.data)
    ga.data *= 10
    np.testing.assert_array_equal(gb.data, [1.0, -2.0])


def test_a_seed_that_requires_grad_gives_detached_gradients():
    """Without ``create_graph`` the gradients are plain values even when the given seed is itself
    a tensor that requires a gradient. Mutants: in ``_as_grad_of``, ``g = None`` instead of ``g.detach()``;
    in ``_storer``, the detach skipped (``g.requires_grad and create_graph``)."""
    a = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)       # all float64: no cast on the way
    b = tl.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    v = tl.Tensor(np.array([0.5, 2.0]), requires_grad=True)
    ga, gb = tl.grad(a + b, [a, b], grad_outputs=v)
    for g in (ga, gb):
        assert not g.requires_grad
        np.testing.assert_array_equal(g.data, [0.5, 2.0])
    y = a - b
    y.backward(gradient=v)
    assert not a.grad.requires_grad and not b.grad.requires_grad
    assert not y.grad.requires_grad                   # the intermediate's .grad too (it keeps v's values)
    np.testing.assert_array_equal(y.grad.data, [0.5, 2.0])
    np.testing.assert_array_equal(a.grad.data, [0.5, 2.0])
    np.testing.assert_array_equal(b.grad.data, [-0.5, -2.0])


def test_second_derivative_through_a_gradient_cast_to_the_input_dtype():
    """A float32 input times a float64 weight: its gradient arrives in float64 and is cast to float32.
    With ``create_graph`` that cast must be recorded, so the gradient can be differentiated again.
    Mutants in ``_as_grad_of``: the cast done unrecorded (``create_graph and False``) or with
    ``astype(None)``. For y = Σ x² w: dy/dx = 2 x w, and d(Σ 2 x w)/dw = 2 x."""
    x = tl.Tensor(np.array([1.0, -3.0], dtype=np.float32), requires_grad=True)
    w = tl.Tensor(np.array([0.5, 2.0]), requires_grad=True)       # float64
    y = (x * x * w).sum()
    (gx,) = tl.grad(y, x, create_graph=True)
    assert gx.dtype == np.float32 and gx.requires_grad
    np.testing.assert_array_equal(gx.data, [1.0, -12.0])
    (gw,) = tl.grad(gx.sum(), w)
    np.testing.assert_array_equal(gw.data, [2.0, -6.0])
    y.backward(create_graph=True)                                  # the same through .grad
    assert x.grad.dtype == np.float32 and x.grad.requires_grad
    w.grad = None
    x.grad.sum().backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, -6.0])          # 2 x again


def test_trace_backward_seeds_default_per_output_and_take_a_bare_array():
    """Mutants: ``grad_outputs is None`` never taken (one None seed for two outputs: a count error),
    and a bare ndarray taken as a list of seeds (``isinstance(go, Tensor) and ...``: its rows)."""
    a = tl.Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    u, v = (a * 3.0).sum(), (a * a).sum()
    (va,) = _leaf_visits(tl.trace_backward([u, v]), a)
    np.testing.assert_allclose(va.data, 3.0 + 2 * a.data)
    y = a * a
    g = np.array([2.0, 1.0, -1.0])
    (va,) = _leaf_visits(tl.trace_backward(y, grad_outputs=g), a)
    np.testing.assert_allclose(va.data, 2 * a.data * g)


@pytest.mark.parametrize("call, message", [
    (lambda: tl.trace_backward(None), "trace_backward: outputs must be a Tensor or a non-empty list of Tensors, got "
                                      "None"),
    (lambda: tl.trace_backward([]), "trace_backward: outputs must be a Tensor or a non-empty list of Tensors, got []"),
    (lambda: tl.visit_order(None), "visit_order: roots must be a Tensor or a non-empty list of Tensors, got None"),
    (lambda: tl.visit_order([1.0]), "visit_order: roots must be a Tensor or a non-empty list of Tensors, got [1.0]"),
    (lambda: tl.topological_order("x"), "topological_order: roots must be a Tensor or a non-empty list of Tensors"),
    (lambda: tl.grad(_y(), _x, create_graph="yes"), "grad: create_graph must be True or False, got 'yes'"),
    (lambda: tl.grad(_y(), _x, retain_graph=1), "grad: retain_graph must be True or False, got 1"),
    (lambda: tl.grad(_y(), _x, allow_unused=None), "grad: allow_unused must be True or False, got None"),
    (lambda: tl.backward(_y(), create_graph=0), "backward: create_graph must be True or False, got 0"),
    (lambda: tl.backward(_y(), intermediate_grads="no"), "backward: intermediate_grads must be True or False"),
])
def test_engine_type_errors_name_the_function_and_the_argument(call, message):
    """Each entry point names itself and the bad argument. Mutants: the name passed to ``_roots``/``_flags``
    dropped (the default names another function), changed, or the argument's label changed."""
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value).startswith(message), str(info.value)


_x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)


def _y():
    return (_x * _x).sum()


def test_is_grad_enabled_answers_a_bool_under_no_grad_in_both_spellings():
    """``is_grad_enabled()`` returns ``False`` (not merely something falsy) under ``with no_grad()`` and
    inside a ``@no_grad`` function, and ``True`` again after. Mutants: ``_GradMode(None)`` for either."""
    seen = []

    @tl.no_grad
    def inside():
        seen.append(tl.is_grad_enabled())

    with tl.no_grad():
        seen.append(tl.is_grad_enabled())
    inside()
    seen.append(tl.is_grad_enabled())
    assert seen == [False, False, True] and all(type(s) is bool for s in seen)


def test_unused_input_error_says_how_to_get_none():
    """Mutant: the message of ``grad``'s unused-input error changed."""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    u = tl.Tensor(np.array([3.0]), requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        tl.grad((x * x).sum(), [x, u])
    assert str(info.value) == ("grad: one of the inputs was not used to compute the outputs; pass allow_unused=True "
                               "to get None for it")


def test_create_graph_keeps_a_leaf_gradient_that_arrives_as_a_view_differentiable():
    """With ``create_graph`` a leaf's first ``.grad`` is the recorded gradient itself, even when its array
    is a view (here reshape's): copying it to own the memory would cut it from the graph. For
    y = Σ reshape(x) ⊙ w: dy/dx = w (flattened), and d(Σ dy/dx ⊙ c)/dw = c.
    Mutant in ``_storer``: ``not create_graph or t.grad is None`` (the copy made under create_graph)."""
    x = tl.Tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    w = tl.Tensor(np.array([[0.5, -1.0], [2.0, 3.0]]), requires_grad=True)
    (x.reshape(2, 2) * w).sum().backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.data, [0.5, -1.0, 2.0, 3.0])
    assert x.grad.requires_grad
    c = np.array([1.0, 10.0, 100.0, 1000.0])
    w.grad = None
    (x.grad * tl.Tensor(c)).sum().backward()
    np.testing.assert_array_equal(w.grad.data, c.reshape(2, 2))


@pytest.mark.parametrize("bad", ["a/b", "", 3])
def test_a_name_scope_renamed_after_construction_is_checked_on_entry(bad):
    """``name_scope(...).name`` can be reassigned; entering checks it again, as the constructor does, and
    leaves the current scope alone. Mutants in ``_NameScope.__enter__``: the '/' test, the empty-name
    test or the message broken."""
    scope = tl.name_scope("block")
    scope.name = bad
    with pytest.raises(ValueError) as info:
        with scope:
            pass
    assert str(info.value) == f"name_scope: expected a non-empty name without '/', got {bad!r}"
    assert tl.current_scope() == ""
    scope.name = "ok"
    with scope as inside:
        assert inside == "ok" == tl.current_scope()


def _fan_in_graph():
    """x (float32) and w (float64); u = x * w is used twice: z = Σ (u² + 3 u). dz/du = 2u + 3,
    dz/dx = (2u + 3) w (cast to float32), dz/dw = (2u + 3) x."""
    x = tl.Tensor(np.array([1.0, -2.0], dtype=np.float32), requires_grad=True)
    w = tl.Tensor(np.array([0.5, 3.0]), requires_grad=True)
    u = x * w
    z = (u * u + u * 3.0).sum()
    uu = np.array([0.5, -6.0])
    return x, w, u, z, 2 * uu + 3, (2 * uu + 3) * np.array([0.5, 3.0]), (2 * uu + 3) * np.array([1.0, -2.0])


@pytest.mark.parametrize("anomaly", [False, True])
def test_first_order_gradients_with_fan_in_and_mixed_dtypes(anomaly):
    """The same gradients on both first-order paths (plain, and the Tensor-rule loop ``detect_anomaly()``
    takes): fan-in summed, each leaf's gradient in its own dtype, intermediates' gradients plain
    arrays, the graph released after. Mutants in ``_propagate``/``_run_on_arrays``/``_run_on_tensors``/
    ``_storer``: the path chosen wrongly, a fan-in term overwritten, the cast or the release skipped."""
    x, w, u, z, gu, gx, gw = _fan_in_graph()
    with (tl.detect_anomaly() if anomaly else contextlib.nullcontext()):
        z.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64 and u.grad.dtype == np.float64
    np.testing.assert_allclose(u.grad.data, gu, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, gx, rtol=1e-6)
    np.testing.assert_allclose(w.grad.data, gw, rtol=1e-7)
    for t in (x, w, u, z):
        assert type(t.grad.data) is np.ndarray and not t.grad.requires_grad
    assert z.grad.item() == 1.0
    with pytest.raises(tl.GraphReleasedError):
        z.backward()
    x, w, u, z, gu, gx, gw = _fan_in_graph()
    with (tl.detect_anomaly() if anomaly else contextlib.nullcontext()):
        rx, rw = tl.grad(z, [x, w], retain_graph=True)
        z.backward(retain_graph=True)              # retained: a second pass works
        z.backward()                               # and a third, which accumulates
    assert rx.dtype == np.float32 and rw.dtype == np.float64
    np.testing.assert_allclose(rx.data, gx, rtol=1e-6)
    np.testing.assert_allclose(rw.data, gw, rtol=1e-7)
    np.testing.assert_allclose(w.grad.data, 2 * gw, rtol=1e-7)


def test_scalar_intermediate_gradients_are_arrays():
    """For 0-d tensors NumPy arithmetic returns scalars (np.float64), not arrays; every ``.grad`` still
    holds an ndarray, writable for leaves. Mutant in ``_storer``: the ``np.asarray`` for intermediates dropped."""
    a = tl.Tensor(np.float64(2.0), requires_grad=True)
    b = tl.exp(a)
    c = b * b                                      # dc/db = 2b, dc/da = 2 e^(2a)
    c.backward()
    for t in (a, b, c):
        assert type(t.grad.data) is np.ndarray and t.grad.data.shape == ()
    assert a.grad.data.flags.writeable
    np.testing.assert_allclose(b.grad.item(), 2 * np.exp(2.0), rtol=1e-12)
    np.testing.assert_allclose(a.grad.item(), 2 * np.exp(4.0), rtol=1e-12)


def test_create_graph_without_intermediate_grads_stores_leaves_only():
    """Mutant in the recording sink: ``t._op is None or intermediate_grads`` with the flag ignored."""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    z = (y * x).sum()                             # x³: dz/dx = 3x²
    z.backward(create_graph=True, intermediate_grads=False)
    assert y.grad is None and z.grad is None
    np.testing.assert_array_equal(x.grad.data, [3.0, 12.0])
    assert x.grad.requires_grad
    z.backward(create_graph=True, intermediate_grads=True)   # a second pass adds, and records
    np.testing.assert_array_equal(x.grad.data, [6.0, 24.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, 2.0])   # dz/dy = x


def test_detect_anomaly_names_the_gradient_rules_op_that_made_the_inf():
    """Under ``detect_anomaly()`` backward runs the Tensor rules one op at a time, so the error names the
    op inside sqrt's rule (its ``div`` by 2√x = 0). Mutant in ``_propagate``: the array loop taken
    under detect_anomaly (only the finished contribution would be reported)."""
    x = tl.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    s = tl.sqrt(x).sum()
    with tl.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(tl.AnomalyError, match="its gradient rule's 'div' produced"):
            s.backward()


@pytest.mark.parametrize("through", ["leaf root", "reshape", "getitem of all", "grad()"])
def test_a_callers_seed_tensor_is_never_handed_out_as_a_gradient(through):
    """The upstream gradient a caller passes stays the caller's: a pass-through VJP (reshape, a
    leaf that is its own root) must not store that very array as ``.grad`` or return it from
    ``grad()``, or an in-place edit of the gradient (clipping, ``zero_()``) changes the caller's
    tensor (PyTorch copies it too)."""
    x = tl.Tensor(np.ones(3), requires_grad=True)
    seed = tl.Tensor(np.full(3, 2.0))
    if through == "grad()":
        (g,) = tl.grad(x.reshape(3), x, grad_outputs=seed)
    else:
        out = {"leaf root": lambda: x, "reshape": lambda: x.reshape(3), "getitem of all": lambda: x[:]}[through]()
        out.backward(seed)
        g = x.grad
    assert not np.shares_memory(g.data, seed.data)
    g.data *= 10
    np.testing.assert_array_equal(seed.data, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(g.data, [20.0, 20.0, 20.0])


def test_a_differentiable_seed_keeps_its_graph_with_create_graph():
    """With ``create_graph=True`` the seed is not copied: ``grad(y, x, v, create_graph=True)`` is
    ``vᵀ J``, itself a function of ``v`` (the double-VJP trick for a Jacobian-vector product).
    For ``y = x²``: ``vᵀ J = 2 x v`` and its gradient with respect to ``v`` is ``2 x`` (kills
    ``_seed`` mutants that copy a seed Tensor also when recording)."""
    x = tl.Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True, dtype=np.float64)
    v = tl.Tensor(np.array([0.5, 0.25, -1.0]), requires_grad=True, dtype=np.float64)
    (vjp,) = tl.grad(x * x, x, grad_outputs=v, create_graph=True)
    np.testing.assert_allclose(vjp.data, 2 * x.data * v.data)
    (dv,) = tl.grad(vjp.sum(), v)
    np.testing.assert_allclose(dv.data, 2 * x.data)
    w = tl.Tensor(np.array([0.5, 0.25, -1.0]), requires_grad=True, dtype=np.float64)
    y = x * x
    y.backward(w, create_graph=True)
    (dw,) = tl.grad(x.grad.sum(), w)
    np.testing.assert_allclose(dw.data, 2 * x.data)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_the_default_seed_has_the_outputs_dtype(dtype):
    """The ones a scalar's backward starts from are in the output's dtype: the engine's first
    event carries them, and every gradient of a float32/float16 graph stays in that dtype on the
    way (kills ``_seed`` mutants that drop the dtype of ``np.ones``, which gives float64)."""
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, dtype=dtype)
    loss = (x * 3.0).sum()
    events = tl.trace_backward(loss)
    seed = [payload for event, t, payload in events if event == "visit" and t is loss][0]
    assert np.asarray(seed.data if isinstance(seed, tl.Tensor) else seed).dtype == dtype
    terms = [payload[1] for event, _, payload in events if event == "contribution"]
    assert all(np.asarray(t.data if isinstance(t, tl.Tensor) else t).dtype == dtype for t in terms)
