"""Teaching diagnostics drawn on the graph (issue 8): order, fan-in, anomalies, notes, gradcheck badges,
and detect_anomaly()."""
import html
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import autograd, ops
from tinygrad_loss._opkit import TensorRulesOnArrays
from tinygrad_loss.viz import diagnostics as D
from tinygrad_loss.viz import PALETTE

from test_viz import graph_tensors, node_of, parse_dot, png_dot_source, title_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARN = PALETTE["warn_fill"]


def text(src):
    """The DOT source with HTML entities decoded (what the picture says)."""
    return html.unescape(src).replace("\xa0", " ")


def node_lines(src):
    return {m.group(1): m.group(0) for m in re.finditer(r"^\s*([ng]\d+) \[.*$", src, re.M)}


def branching_graph():
    """a feeds two branches that meet again; b is used once; names on every tensor."""
    a = tl.Tensor([0.5, -1.0], requires_grad=True, name="a")
    b = tl.Tensor([2.0, 3.0], requires_grad=True, name="b")
    c = tl.Tensor([1.0, 1.0], name="c")
    u = tl.tanh(a)
    u.name = "u"
    v = a * b
    v.name = "v"
    w = u + v
    w.name = "w"
    wc = w * c
    wc.name = "wc"
    z = wc.sum()
    z.name = "z"
    return z


# --- show_order ----------------------------------------------------------------------------

def test_order_numbers_equal_the_engines_visit_order():
    z = branching_graph()
    labels = parse_dot(tl.to_dot(z, show_order=True))[0]
    shown = {}
    for k, lab in labels.items():
        m = re.match(r"#(\d+)", lab.strip())
        if m:
            shown[title_of(lab)] = int(m.group(1))
    visits = []
    autograd.backward(z, observer=lambda e, t, p: visits.append(t.name) if e == "visit" else None)
    assert sorted(shown, key=shown.get) == visits
    assert sorted(shown.values()) == list(range(1, len(visits) + 1))
    assert "c" not in shown  # needs no gradient: no number


def test_order_is_the_reverse_of_topological_order_for_ops():
    z = branching_graph()
    order = D.backward_order([z])
    topo = tl.topological_order(z)
    assert [order[id(t)] for t in reversed(topo)] == list(range(1, len(topo) + 1))


# --- fan-in --------------------------------------------------------------------------------

def test_fan_in_label_lists_the_terms():
    a = tl.Tensor(1.0, requires_grad=True, name="a")
    b = (a * 2.0) + (a * 2.0)  # two consumers, each sends 2
    b.backward()
    labels = parse_dot(tl.to_dot(b, show_fanin=True))[0]
    lab = labels[node_of(labels, "a")]
    assert "fan-in ×2" in lab
    assert "grad = 2.0 + 2.0" in lab and "= 4.0" in lab
    assert sum("fan-in" in v for v in labels.values()) == 1
    assert "grad = " not in tl.to_dot(b)  # off by default


@pytest.mark.parametrize("retain", [True, False])
def test_contributions_sum_to_the_stored_gradient(retain):
    rng = np.random.default_rng(0)
    a = tl.Tensor(rng.normal(size=(3,)), requires_grad=True, name="a")
    u = tl.exp(a) * a           # a used twice by mul... and by exp
    v = (a * a).sum() + u.sum()  # and twice more
    v.backward(retain_graph=retain)
    nodes = graph_tensors(v)
    contrib = D.contributions([v], nodes)
    terms = [g for _, g in contrib[id(a)]]
    assert len(terms) == 4
    total = terms[0]
    for g in terms[1:]:
        total = total + g
    np.testing.assert_array_equal(total, a.grad.data)  # the engine adds them in this very order
    np.testing.assert_allclose(a.grad.data, 2 * a.data + np.exp(a.data) * (1 + a.data), rtol=1e-5)
    checked = 0
    for t in nodes:  # every tensor that got a gradient: its terms add up to it
        ts = [g for _, g in contrib.get(id(t), [])]
        if t.requires_grad and t is not v:
            if not retain and any(g is None for g in ts):
                continue  # a released sum's VJP cannot be replayed: the label says so
            np.testing.assert_allclose(sum(ts), t.grad.data, rtol=1e-6)
            checked += 1
    assert checked == (6 if retain else 4)  # a, exp, the two muls and sums; released: not the muls


def test_fan_in_terms_after_released_backward():
    a = tl.Tensor([1.0, 2.0], requires_grad=True, name="a")
    s = a.mean() + (a * 3.0).sum()  # mean's VJP needs its saved axes, released by backward()
    s.backward()
    lab = parse_dot(tl.to_dot(s, show_fanin=True))[0]
    text = lab[node_of(lab, "a")]
    assert "fan-in ×2" in text
    assert "released: use retain_graph=True" in text and "[3.0, 3.0]" in text
    assert "grad so far" not in text


def test_contributions_none_before_backward():
    a = tl.Tensor([1.0], requires_grad=True)
    b = a + a
    assert D.contributions([b], graph_tensors(b)) is None
    labels = parse_dot(tl.to_dot(b, show_fanin=True))[0]
    assert sum("fan-in ×2" in v for v in labels.values()) == 1


# --- anomaly -------------------------------------------------------------------------------

def _quiet():
    return np.errstate(all="ignore")


def test_first_nan_is_log_not_the_ops_that_propagate_it():
    p = tl.Tensor([[0.7, 0.3, 0.0]], requires_grad=True, name="p")
    y = tl.Tensor([[1.0, 0.0, 0.0]], name="y")
    with _quiet(), tl.name_scope("CategoricalCrossentropy"):
        lp = tl.log(p)
        lp.name = "logp"
        prod = y * lp  # 0 * -inf = nan: propagates, must not be blamed
        prod.name = "prod"
        loss = -prod.sum()
        loss.name = "loss"
    src = tl.to_dot(loss)  # anomaly is on by default here
    an = D.find_anomalies(graph_tensors_sorted(loss))
    assert an.origins[0] is lp and len(an.origins) == 1
    assert "first non-finite value: 'CategoricalCrossentropy/log' (input shape (1, 3)) produced inf" in text(src)
    assert "'CategoricalCrossentropy/mul'" not in text(src)
    lines = node_lines(src)
    labels = parse_dot(src)[0]
    for name in ("logp", "prod", "loss"):
        assert WARN in lines[node_of(labels, name)]
    assert WARN not in lines[node_of(labels, "y")] and WARN not in lines[node_of(labels, "p")]
    assert "first nan/inf" in labels[node_of(labels, "logp")]
    assert "first non-finite" not in tl.to_dot(loss, anomaly=False)


def graph_tensors_sorted(root):
    from tinygrad_loss.viz._graph import collect
    return collect([root])


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_first_nan_at_different_depths(depth):
    x = tl.Tensor([4.0, 1.0], requires_grad=True, name="x")
    with _quiet():
        h = x
        for k in range(depth):
            h = h * 0.5 + 1.0  # finite, harmless ops before the culprit
        bad = tl.sqrt(h - 10.0)  # sqrt of a negative: nan from finite inputs
        bad.name = "culprit"
        out = bad
        for _ in range(2):
            out = tl.exp(out) * 2.0  # after: only propagation
        out = out.sum()
    an = D.find_anomalies(graph_tensors_sorted(out))
    assert [t.name for t in an.origins] == ["culprit"]
    assert "'sqrt'" in an.caption and "'exp'" not in an.caption and "'mul'" not in an.caption


def test_overflow_then_inf_minus_inf_blames_exp():
    x = tl.Tensor([100.0, 1.0], requires_grad=True, name="x")  # float32: e^100 overflows
    with _quiet():
        e = tl.exp(x)
        d = e - e  # inf - inf = nan: its inputs are already non-finite
        s = d.sum()
    an = D.find_anomalies(graph_tensors_sorted(s))
    assert an.origins == [e]
    assert "'exp'" in an.caption and "produced inf" in an.caption


def test_nan_in_input_data_is_named_as_data():
    x = tl.Tensor([1.0, np.nan], requires_grad=True, name="x")
    s = (x * 2.0).sum()
    an = D.find_anomalies(graph_tensors_sorted(s))
    assert an.origins == [x]
    assert "input “x”" in an.caption and "already holds nan" in an.caption


def test_gradient_origin_sqrt_at_zero():
    x = tl.Tensor([0.0, 4.0], requires_grad=True, name="x")
    with _quiet(), tl.name_scope("Norm"):
        r = tl.sqrt(x)
        s = r.sum()
    with _quiet():
        s.backward()
    assert np.isinf(x.grad.data[0])
    src = tl.to_dot(s)  # on by default: a gradient is non-finite
    assert "first non-finite gradient: the VJP of 'Norm/sqrt'" in text(src)
    assert "first non-finite value" not in text(src)
    labels = parse_dot(src)[0]
    assert WARN in node_lines(src)[node_of(labels, "x")]


@pytest.mark.parametrize("retain", [False, True])
@pytest.mark.parametrize("sqrt_first", [True, False])
def test_gradient_origin_is_the_rule_that_made_it_not_a_sibling_consumer(sqrt_first, retain):
    """a feeds sqrt (infinite derivative at 0) and mul (finite): only sqrt's rule is to blame, whatever
    the order of the consumers, and also after a plain (released) backward."""
    a = tl.Tensor([0.0, 1.0], requires_grad=True, name="a")
    with _quiet():
        s = (tl.sqrt(a) + a * 2.0).sum() if sqrt_first else (a * 2.0 + tl.sqrt(a)).sum()
        s.backward(retain_graph=retain)
    assert np.isinf(a.grad.data[0]) and a.grad.data[1] == pytest.approx(2.5)
    caption = text(tl.to_dot(s))
    assert "first non-finite gradient: the VJP of 'sqrt' (input shape (2,))" in caption
    assert "VJP of 'mul'" not in caption


def test_finite_graph_has_no_anomaly_caption():
    z = branching_graph()
    z.backward()
    src = tl.to_dot(z)
    assert "non-finite" not in src and WARN not in src
    assert "non-finite" not in tl.to_dot(z, anomaly=True)


# --- detect_anomaly ------------------------------------------------------------------------

def test_detect_anomaly_forward_names_op_scope_and_shapes():
    p = tl.Tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], requires_grad=True)
    y = tl.Tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(tl.AnomalyError) as e, _quiet(), tl.detect_anomaly():
        with tl.name_scope("CategoricalCrossentropy"):
            -(y * tl.log(p)).sum()
    msg = str(e.value)
    assert "'CategoricalCrossentropy/log'" in msg and "(2, 3)" in msg and "from finite inputs" in msg
    assert "index (0, 2)" in msg
    assert autograd.STATE.anomaly is None  # restored after the error
    with _quiet():
        out = tl.log(p)  # outside the context: no error
    assert np.isinf(out.data).any()


def test_detect_anomaly_backward_names_the_rule():
    x = tl.Tensor([0.0, 4.0], requires_grad=True)
    with tl.name_scope("Norm"):
        s = tl.sqrt(x).sum()
    with pytest.raises(tl.AnomalyError, match=r"backward of op 'Norm/sqrt'.*input shape \(2,\)"), _quiet():
        with tl.detect_anomaly():
            s.backward()


def test_detect_anomaly_input_data_and_decorator():
    x = tl.Tensor([1.0, np.inf])

    @tl.detect_anomaly()
    def f():
        return x * 2.0

    with pytest.raises(tl.AnomalyError, match="an input tensor that already holds nan/inf"):
        f()
    with tl.detect_anomaly():  # finite work passes untouched, forward and backward
        a = tl.Tensor([1.0, 2.0], requires_grad=True)
        (tl.exp(a) * a).sum().backward()
    np.testing.assert_allclose(a.grad.data, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])), rtol=1e-6)


def test_detect_anomaly_under_no_grad():
    with pytest.raises(tl.AnomalyError, match="'div'"), _quiet(), tl.detect_anomaly(), tl.no_grad():
        tl.Tensor([0.0]) / tl.Tensor([0.0])


# --- notes ---------------------------------------------------------------------------------

def test_clip_note_counts_clipped_elements():
    y = tl.Tensor([[1, 0, 0], [0, 1, 0]])
    p = tl.Tensor([[1.0, 0.0, 0.0], [0.2, 0.8, 0.0]], requires_grad=True)
    loss = tl.losses.CategoricalCrossentropy()(y, p)
    eps = tl.losses.EPSILON
    q = p.data / p.data.sum(axis=-1, keepdims=True)
    q32 = q.astype(np.float32)
    expected = int(np.sum((q32 < np.float32(eps)) | (q32 > np.float32(1 - eps))))
    assert expected == 4  # three zeros and the one
    src = tl.to_dot(loss, notes=True)
    # the upper bound reads 1 - ε, not a rounded 1.0 (the prediction of exactly 1.0 *was* clipped)
    assert f"clipped {expected} of 6 to [{eps!r}, {1 - eps!r}]" in src
    assert "to [1e-07, 0.9999999]" in src
    assert "clipped" not in tl.to_dot(loss)  # off by default
    loss.backward()  # after a released backward the count is still right
    assert f"clipped {expected} of 6" in tl.to_dot(loss, notes=True)


def test_clip_note_shows_zero_when_nothing_clipped():
    a = tl.Tensor([0.2, 0.5], requires_grad=True)
    assert "clipped 0 of 2 to [0.1, 0.9]" in tl.to_dot(tl.clip(a, 0.1, 0.9), notes=True)


@pytest.mark.parametrize("sa, sb, noted", [
    ((3,), (3, 1), True),
    ((1, 3), (3, 1), True),
    ((3, 1), (3, 1), False),
    ((3,), (), False),
    ((2, 3), (3,), False),
    ((3,), (1, 3), False),
])
def test_broadcast_note_exactly_where_output_exceeds_both(sa, sb, noted):
    a = tl.Tensor(np.ones(sa), requires_grad=True)
    b = tl.Tensor(np.full(sb, 2.0))
    out = ((a - b) ** 2).mean()
    src = tl.to_dot(out, notes=True)
    labels = parse_dot(src)[0]
    hits = [title_of(v) for v in labels.values() if "broadcast" in v]
    assert hits == (["sub"] if noted else [])
    if noted:
        shape = np.broadcast_shapes(sa, sb)
        assert "→ (" + ", ".join(map(str, shape)) + ")" in src


# --- gradcheck badges ----------------------------------------------------------------------

def badge_graph():
    w = tl.Tensor([0.5, -1.0], requires_grad=True, name="w")
    b = tl.Tensor(0.25, requires_grad=True, name="b")
    x = tl.Tensor([[1.0, 2.0], [3.0, -1.0]], name="x")
    with tl.name_scope("model"):
        out = (tl.tanh(x @ w + b) * tl.sigmoid(b)).mean()
    return out


def test_gradcheck_badges_green_for_correct_rules():
    out = badge_graph()
    src = tl.to_dot(out, gradcheck=True)
    labels = parse_dot(src)[0]
    for name in ("w", "b"):
        assert "gradcheck ✓" in labels[node_of(labels, name)]
        assert PALETTE["ok_fill"] in node_lines(src)[node_of(labels, name)]
    assert "gradcheck" not in labels[node_of(labels, "x")]
    assert "gradcheck" not in tl.to_dot(out)


def _plant_rules(monkeypatch, name, *vjps):
    """Replace both rule kinds of op ``name`` by the Tensor rules ``vjps`` (the raw ones run them on arrays)."""
    monkeypatch.setattr(ops.OPS[name], "vjps", vjps)
    monkeypatch.setattr(ops.OPS[name], "raw", TensorRulesOnArrays(vjps))


def test_gradcheck_badge_turns_red_with_a_wrong_rule(monkeypatch):
    out = badge_graph()
    # tanh' = 1 - tanh^2; inject 1 - tanh (wrong): only inputs upstream of tanh are affected
    _plant_rules(monkeypatch, "tanh", lambda g, o, a: ops.mul(g, ops.sub(1.0, o)))
    src = tl.to_dot(out, gradcheck=True)
    labels = parse_dot(src)[0]
    assert "gradcheck ✗" in labels[node_of(labels, "w")]
    assert PALETTE["warn_fill"] in node_lines(src)[node_of(labels, "w")]
    badges = D.gradcheck_badges(out, graph_tensors_sorted(out))
    assert not badges[id(out.parents[0].parents[0].parents[0].parents[1])].ok  # w
    assert max(b.max_rel_error for b in badges.values()) > 1e-2


def test_gradcheck_badge_red_for_wrong_mul_rule_on_single_leaf(monkeypatch):
    a = tl.Tensor([1.5, -0.5], requires_grad=True, name="a")
    out = (a * a).sum()
    assert "gradcheck ✓" in tl.to_dot(out, gradcheck=True)
    _plant_rules(monkeypatch, "mul", lambda g, o, a, b: ops.mul(g, a), lambda g, o, a, b: g)
    assert "gradcheck ✗" in tl.to_dot(out, gradcheck=True)


def test_gradcheck_badges_refuse_a_replay_that_is_not_the_recorded_function(monkeypatch):
    out = badge_graph()
    monkeypatch.setattr(ops.OPS["tanh"], "forward", ops.OPS["sigmoid"].forward)  # the replay computes another function
    with pytest.raises(ValueError, match="replaying the recorded graph gives .* instead of the recorded output"):
        tl.to_dot(out, gradcheck=True)


def test_gradcheck_needs_saved_values_and_small_graphs():
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    m = tl.clip(a, 0.0, 1.5).mean()
    m.backward()
    with pytest.raises(ValueError, match="retain_graph=True"):
        tl.to_dot(m, gradcheck=True)
    big = tl.Tensor(np.ones(3000), requires_grad=True)
    with pytest.raises(ValueError, match="3000 elements"):
        tl.to_dot((big * 2.0).sum(), gradcheck=True)


# --- example --------------------------------------------------------------------------------

def test_diagnostics_example_writes_one_picture_per_diagnostic(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "diagnostics.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    names = ("diag_order", "diag_fanin", "diag_nan", "diag_clip", "diag_broadcast", "diag_gradcheck",
             "diag_gradcheck_wrong")
    assert sorted(os.listdir(tmp_path)) == sorted(f"{n}.png" for n in names)
    for name in names:
        with open(tmp_path / f"{name}.png", "rb") as f:
            assert f.read(4) == b"\x89PNG", name
        # the checked-in picture is what the code draws now (compared by DOT source, not by pixels);
        # regenerate with `python examples/diagnostics.py`
        src = png_dot_source(os.path.join(ROOT, "docs", "img", f"{name}.png"))
        assert src is not None and src == png_dot_source(tmp_path / f"{name}.png"), f"docs/img/{name}.png is stale"
    assert "HandWrittenCrossentropy/log" in r.stdout


# Every op's replay (derived from the op registry) is checked on every gradcheck case of that op in
# tests/test_ops_gradcheck.py (test_gradcheck_badges_replay_every_case).
