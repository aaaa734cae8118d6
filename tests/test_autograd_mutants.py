"""Engine behaviour that mutmut's survivors in tinygrad_loss/autograd.py showed untested (issue 19).

Each test was seen to fail with the mutants named in its docstring planted, one at a time, and to
pass on the real code. Error messages are checked for what a user needs: the public function, the
argument, the bad value and where in the graph the problem is.
"""
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import autograd


def _leaf(values):
    return tl.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# --- no_grad / enable_grad used as decorators ------------------------------------------------------
@pytest.mark.parametrize("make, who", [(tl.no_grad, "no_grad"), (tl.enable_grad, "enable_grad")])
def test_a_grad_mode_object_decorating_something_else_than_a_function_names_itself(make, who):
    """``@no_grad()`` / ``@enable_grad()`` applied to a non-function: a TypeError naming the decorator
    and showing the value. Kills autograd._GradMode.__call__ mutants 3-13 (the name lost, swapped
    between the two, garbled, or the value not shown)."""
    mode = make()
    with pytest.raises(TypeError, match=rf"^{who}: decorates a function \(`@{who}` or `@{who}\(\)`\) or opens a "
                                        rf"block \(`with {who}\(\):`\); got 5 of type int$"):
        mode(5)


def test_a_grad_mode_object_still_decorates_a_function():
    x = _leaf([2.0])

    @tl.no_grad()
    def square(t):
        return t * t

    assert square(x).requires_grad is False and tl.is_grad_enabled()


# --- name_scope ----------------------------------------------------------------------------------
def test_name_scope_refuses_a_bad_name_when_called_not_only_when_entered():
    """``name_scope(5)``, ``name_scope("")`` and ``name_scope("a/b")`` fail at the call, naming
    name_scope and the argument. Kills autograd._NameScope.__init__ mutants 2, 7, 9, 10 (the function or
    argument name lost), 11, 13 (an empty name or one with '/' let through until ``with``)."""
    with pytest.raises(TypeError, match=r"^name_scope: name must be a string, got 5 of type int$"):
        tl.name_scope(5)
    for bad in ("", "layer/dense"):
        with pytest.raises(ValueError, match=rf"^name_scope: expected a non-empty name without '/', got {bad!r}$"):
            tl.name_scope(bad)
    with tl.name_scope("outer"), tl.name_scope("inner"):
        assert tl.current_scope() == "outer/inner"
    assert tl.current_scope() == ""


# --- released graphs -----------------------------------------------------------------------------
def test_a_released_graph_error_shows_the_ops_scope_or_a_dash():
    """Kills autograd._check_alive mutant 3 (``scope or '-'`` -> ``and``: the scope of a scoped op shown
    as '-', an unscoped one as nothing)."""
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(tl.GraphReleasedError, match=r"^backward: the graph through '\w+' \(scope -\) was already "
                                                    r"released"):
        y.backward()
    with tl.name_scope("Loss"):
        z = (x * 3.0).sum()
    z.backward()
    with pytest.raises(tl.GraphReleasedError, match=r"^backward: the graph through '\w+' \(scope Loss\) was already "
                                                    r"released"):
        z.backward()


# --- trace_backward's seeds ----------------------------------------------------------------------
def test_trace_backward_names_itself_and_grad_outputs_when_a_seed_is_missing_or_wrong():
    """Kills autograd.trace_backward mutants 28, 29, 32-37 (the seed errors no longer name
    trace_backward and its argument grad_outputs)."""
    x = _leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"^trace_backward: a grad_outputs argument is needed for a non-scalar "
                                           r"output of shape \(2,\)"):
        autograd.trace_backward(y)
    with pytest.raises(ValueError, match=r"^trace_backward: grad_outputs has shape \(3,\) but the output has shape "
                                         r"\(2,\); they must match$"):
        autograd.trace_backward(y, tl.Tensor(np.ones(3)))
    with pytest.raises(TypeError, match=r"^trace_backward: grad_outputs must be numeric"):
        autograd.trace_backward(y, [["a", "b"]])  # one seed per output
    events = autograd.trace_backward(y, np.array([1.0, -1.0]))  # an array seed is fine
    leaf_terms = [payload[1].data for event, t, payload in events if event == "contribution" and t is x]
    np.testing.assert_array_equal(leaf_terms, [[2.0, -2.0]])  # d(2x)/dx = 2, times the seed


def test_a_released_graph_error_says_how_to_update_by_hand_and_how_to_run_twice():
    """Kills autograd._check_alive mutants 4, 6, 8, 9, 10 (the dash or the advice in the message garbled)."""
    w = _leaf([1.0])
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(tl.GraphReleasedError) as info:
        loss.backward()
    text = str(info.value)
    assert "(scope -)" in text
    assert "If you update parameters by hand, do it in place under no_grad() (`with no_grad(): w -= lr * w.grad`): " \
           "`w = w - lr * w.grad` makes the new w part of the old graph." in text
    assert text.endswith("To run backward twice through one graph, pass retain_graph=True to the first call")


def test_a_stale_input_error_gives_the_version_the_op_saw_when_it_was_not_0():
    """An op that ran on an input already changed once (version 1) and then changed again (version 2):
    the error gives both versions. Kills autograd._check_alive mutant 38 (the version the op saw
    reported as None)."""
    a = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="a")
    with tl.no_grad():
        a += 1.0  # version 1
    y = (a * a).sum()  # the product saw a at version 1
    with tl.no_grad():
        a += 1.0  # version 2
    with pytest.raises(RuntimeError, match=r"the tensor 'a' of shape \(2,\), was modified in place after the op "
                                           r"used it \(version 2, the op saw version 1\)"):
        y.backward()


def test_every_tensor_an_observer_is_handed_holds_an_array_also_for_0_d_gradients():
    """NumPy turns arithmetic on 0-d arrays into NumPy scalars; the Tensors handed to an observer must
    still hold arrays (``.data`` of a Tensor is an ndarray: ``t.data[...] = 0`` works). Kills
    autograd._tensor mutants 3, 5 (a NumPy scalar wrapped as it is)."""
    x = tl.Tensor(np.array(1.5), requires_grad=True)
    y = (x * 2.0) * 3.0
    events = autograd.trace_backward(y)
    handed = [payload if event == "visit" else payload[1] for event, t, payload in events]
    assert len(handed) >= 4
    for g in handed:
        assert type(g.data) is np.ndarray and g.data.shape == ()
    leaf_terms = [float(payload[1].data) for event, t, payload in events if event == "contribution" and t is x]
    assert leaf_terms == [6.0]  # d(6x)/dx


# --- backward()'s arguments ----------------------------------------------------------------------
def test_backward_refuses_bad_arguments_naming_them():
    """Kills autograd.backward mutants 4, 5 (the bad tensor not shown), 10, 12, 13, 15, 17 (a bad
    retain_graph let through, or another flag blamed), 26, 27, 29, 30 (the no-gradient message garbled),
    40-49 (a bad observer not named)."""
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()
    with pytest.raises(TypeError, match=r"^backward: tensor must be a Tensor, got 5$"):
        autograd.backward(5)
    with pytest.raises(TypeError, match=r"^backward: retain_graph must be True or False, got 'yes' of type str$"):
        autograd.backward(y, retain_graph="yes")
    with pytest.raises(TypeError, match=r"^backward: observer must be a function or None, got 5 of type int$"):
        autograd.backward(y, observer=5)
    with pytest.raises(RuntimeError, match=r"^backward: this tensor does not require a gradient \(no input had "
                                           r"requires_grad=True, or it was computed under no_grad\(\)\)$"):
        autograd.backward(tl.Tensor([1.0]).sum())
    assert x.grad is None  # every refusal came before the pass
    autograd.backward(y, retain_graph=np.True_, intermediate_grads=np.True_)  # NumPy bools are bools
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_backward_called_as_a_function_has_the_documented_defaults():
    """``tl.backward(y)``: first order (``.grad`` not differentiable), the graph released, intermediate
    gradients kept. Kills autograd.backward mutants 1 (create_graph default True) and 2
    (intermediate_grads default False)."""
    x = _leaf([1.0, 2.0])
    h = x * x
    y = h.sum()
    tl.backward(y)
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    assert not x.grad.requires_grad
    np.testing.assert_array_equal(h.grad.data, [1.0, 1.0])
    with pytest.raises(tl.GraphReleasedError):
        tl.backward(y)


@pytest.mark.parametrize("intermediate_grads", [True, False])
def test_two_leaves_fed_one_array_get_their_own_gradients_also_without_intermediate_grads(intermediate_grads):
    """add hands the same upstream array to both inputs; with ``intermediate_grads=False`` (what fit
    uses) no intermediate records it, so the leaves themselves must. Kills autograd._storer mutants 39,
    40 (a leaf's gradient not remembered as handed out: a.grad and b.grad one array)."""
    a, b = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    s = a + b
    s.backward(gradient=np.array([1.0, 1.0]), intermediate_grads=intermediate_grads)
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 10.0  # clipping one gradient in place
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])


def test_a_leafs_gradient_is_writable_even_when_the_seed_is_read_only():
    """Kills autograd._own_array mutant 9 (a read-only array kept as a leaf's .grad)."""
    x = _leaf([1.0, 2.0, 3.0])
    seed = tl.Tensor(np.array([1.0, 2.0, 3.0]))
    seed.data.flags.writeable = False
    x.backward(seed)
    assert x.grad.data.flags.writeable
    x.grad.data *= 0.5
    np.testing.assert_array_equal(x.grad.data, [0.5, 1.0, 1.5])
    np.testing.assert_array_equal(seed.data, [1.0, 2.0, 3.0])


def test_an_intermediate_gradient_is_stored_in_the_tensors_dtype():
    """A float64 seed given to a float32 output: every stored ``.grad`` is float32, the intermediate's
    too. Kills autograd._storer mutants 20, 21, 22 (the intermediate's cast skipped, dropped, or to
    float64)."""
    x = tl.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x * 3.0
    y.backward(tl.Tensor(np.array([1.0, -1.0]), dtype=np.float64))
    assert y.grad.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(y.grad.data, [1.0, -1.0])
    np.testing.assert_array_equal(x.grad.data, [3.0, -3.0])


@pytest.mark.parametrize("who", ["no_grad", "enable_grad"])
def test_no_grad_and_enable_grad_given_a_non_function_name_themselves(who):
    """Kills autograd.no_grad and autograd.enable_grad mutants that lose or garble the name or the value."""
    with pytest.raises(TypeError, match=rf"^{who}: decorates a function \(`@{who}` or `@{who}\(\)`\) or opens a "
                                        rf"block \(`with {who}\(\):`\); got 5 of type int$"):
        getattr(tl, who)(5)


# --- a VJP that returns the wrong shape ---------------------------------------------------------
@pytest.mark.parametrize("op, make, bad_input", [
    ("exp", lambda a, b, c: tl.exp(a), 0),                         # one parent
    ("mul", lambda a, b, c: a * b, 0),                             # two parents
    ("mul", lambda a, b, c: a * b, 1),
    ("concatenate", lambda a, b, c: tl.concatenate([a, b, c]), 2),  # three: the generic loop
])
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_vjp_returning_the_wrong_shape_is_named_with_the_input(monkeypatch, op, make, bad_input, create_graph):
    """The engine checks every VJP's result against its input's shape and names the op and the input.
    Kills autograd._run_on_arrays mutants 37-40 (and their twins in the other paths: the op, the
    input's index, the gradient or the input dropped from the message)."""
    from tinygrad_loss import ops
    entry = ops.OPS[op]
    field = "vjps" if create_graph else "raw"
    rules = getattr(entry, field)
    good = [rules[i] for i in range(3 if op == "concatenate" else (1 if op == "exp" else 2))]

    def wrong(i):
        if i != bad_input:
            return good[i]
        if create_graph:
            return lambda g, out, *ps: tl.Tensor(np.ones(5), requires_grad=False)
        return lambda g, out, *ps: np.ones(5)

    monkeypatch.setattr(entry, field, tuple(wrong(i) for i in range(len(good))))
    monkeypatch.setattr(entry, "check_shapes", True)
    a, b, c = _leaf([1.0, 2.0]), _leaf([3.0, 4.0]), _leaf([5.0, 6.0])
    out = make(a, b, c)
    with pytest.raises(RuntimeError, match=rf"^backward: the VJP of '{op}' returned a gradient of shape \(5,\) for "
                                           rf"its input {bad_input} of shape \(2,\)$"):
        out.backward(np.ones(out.shape), create_graph=create_graph)


# --- ops with three or more inputs (the generic loop) and the observer on both passes ------------
def test_an_input_used_twice_by_a_three_input_op_gets_the_sum_of_both_terms():
    """``concatenate([a, a, b])``: a's gradient is the sum of its two slices of the upstream gradient.
    Kills autograd._run_on_arrays mutants 156, 159, 161 (in the generic loop the second term overwrote
    or was subtracted from the first)."""
    a, b = _leaf([1.0, 2.0]), _leaf([3.0])
    c = np.array([1.0, 10.0, 100.0, 1000.0, 7.0])
    loss = (tl.concatenate([a, a, b]) * tl.Tensor(c)).sum()
    loss.backward()
    np.testing.assert_array_equal(a.grad.data, c[0:2] + c[2:4])
    np.testing.assert_array_equal(b.grad.data, c[4:5])


def test_the_observer_sees_each_term_of_a_three_input_op():
    """trace_backward's events for ``concatenate([a, a, b])``: one contribution per input, from the
    concatenation, holding that input's slice. Kills autograd._run_on_arrays mutants 163-171 (the
    generic loop's events named wrongly, missing the tensor or the term)."""
    a, b = _leaf([1.0, 2.0]), _leaf([3.0])
    y = tl.concatenate([a, a, b])
    seed = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    events = autograd.trace_backward(y, seed)
    terms = [(t, consumer, term.data) for event, t, (consumer, term) in
             (e for e in events if e[0] == "contribution") if consumer is y]
    assert [t for t, _, _ in terms] == [a, a, b]
    for (_, _, got), want in zip(terms, (seed[0:2], seed[2:4], seed[4:5])):
        np.testing.assert_array_equal(got, want)


def test_the_observer_on_a_recorded_pass_sees_visits_and_contributions():
    """backward(create_graph=True, observer=...): the Tensor pass reports the same events as the array
    pass. Kills autograd._run_on_tensors mutants 8 (a visit's gradient dropped), 51, 52, 57, 58 (a
    contribution's name or tensor wrong)."""
    def record(*event):
        events.append(event)

    a = _leaf([1.0, 2.0])
    events = []
    y = (a * a).sum()
    y.backward(create_graph=True, observer=record)
    visits = {id(t): g for event, t, g in events if event == "visit"}
    np.testing.assert_array_equal(visits[id(a)].data, [2.0, 4.0])
    to_a = [term.data for event, t, (consumer, term) in
            (e for e in events if e[0] == "contribution") if t is a]
    np.testing.assert_array_equal(np.sum(to_a, axis=0), [2.0, 4.0])  # a*a: two terms a·g, summed 2a
    assert {e[0] for e in events} == {"visit", "contribution"}


def test_grad_refuses_an_observer_that_is_not_a_function():
    """Kills autograd.grad mutants 13-15, 19-22 (the function or argument not named, the value not shown)."""
    x = _leaf([1.0])
    with pytest.raises(TypeError, match=r"^grad: observer must be a function or None, got 5 of type int$"):
        tl.grad((x * x).sum(), x, observer=5)


# --- roots and seeds ---------------------------------------------------------------------------
def test_an_output_given_twice_gets_both_seeds():
    """``grad([y, y], x, grad_outputs=[1, 2])`` is the gradient of ``1·y + 2·y``. Kills
    autograd._propagate mutants 28, 30 (the second seed replaced or subtracted from the first)."""
    x = _leaf([1.0, -2.0])
    y = (x * x).sum()
    (gx,) = tl.grad([y, y], x, grad_outputs=[tl.Tensor(1.0), tl.Tensor(2.0)])
    np.testing.assert_array_equal(gx.data, 3.0 * 2.0 * x.data)  # 3·d(x²)/dx


def test_backward_of_a_non_scalar_without_a_gradient_says_what_to_pass():
    """Kills autograd._seed mutants 1, 2 (backward's default name garbled), 9, 10 (the advice garbled)."""
    y = _leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match=r"^backward: a gradient argument is needed for a non-scalar output of "
                                           r"shape \(2,\); pass gradient=ones_like\(output\) to sum, or reduce the "
                                           r"output to a scalar first$"):
        y.backward()


def test_a_float32_graph_is_differentiated_in_float32_from_a_list_seed():
    """A seed given as a list of Python floats takes the output's dtype, so every term of a float32
    graph's pass is float32. Kills autograd._seed mutants 19, 21 (the seed left float64)."""
    x = tl.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x * 3.0
    events = autograd.trace_backward(y, [[0.1, 0.2]])  # one seed (a list) per output
    terms = [e[2] if e[0] == "visit" else e[2][1] for e in events]
    assert terms and all(g.dtype == np.float32 for g in terms)


def test_visit_order_lists_each_tensor_once_whatever_the_roots():
    """Roots given twice, a root that is an input of another root, a leaf root, a root that needs no
    gradient: every tensor that needs one is listed once, the others not at all. Kills autograd._sort
    mutants 6, 9, 10, 12, 13 (roots re-walked, the walk stopped early at a repeated, constant or leaf
    root, or a leaf root listed as None)."""
    x = _leaf([1.0, 2.0])
    y = x * 2.0
    z = y * 3.0
    const = tl.Tensor([5.0])
    assert autograd.visit_order([const]) == []
    assert autograd.visit_order(x) == [x]
    for roots in ([y, y, z], [y, z], [const, z], [x, z], [z, y]):
        order = autograd.visit_order(roots)
        assert len(order) == 3 and set(map(id, order)) == {id(x), id(y), id(z)}, roots
        assert order[-1] is x
    (gx,) = tl.grad([x, z], x, grad_outputs=[tl.Tensor(np.ones(2)), tl.Tensor(np.ones(2))])
    np.testing.assert_array_equal(gx.data, [1.0 + 6.0, 1.0 + 6.0])  # dx/dx + d(6x)/dx
