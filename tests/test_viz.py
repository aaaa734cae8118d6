"""Graph rendering (issue 5): to_dot / draw / render / backprop_steps / render_backprop.

The DOT text is parsed here by a small independent reader (nodes, edges, the clusters that
hold each node, the plain text of each label), and expected numbers come from NumPy formulas.
"""
import glob
import html
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import autograd
from tinygrad_loss.tensor import is_lifted_constant
from tinygrad_loss.viz import GraphvizNotFoundError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- an independent DOT reader --------------------------------------------------------------

def _text(label: str) -> str:
    s = re.sub(r"<BR[^>]*>|</TR>", "\n", label)
    s = re.sub(r"<[^>]+>", "", s)
    return html.unescape(s).replace("\xa0", " ")


def parse_dot(src: str):
    """-> (labels {node id: text}, edges [(src, dst)], clusters {node id: [cluster labels, outer first]})."""
    labels, edges, clusters, stack = {}, [], {}, []
    lines = src.splitlines()
    assert lines[0].startswith("digraph") and lines[-1] == "}"
    for line in lines[1:-1]:
        s = line.strip()
        if re.fullmatch(r"subgraph cluster_\w+ \{", s):
            stack.append(None)
            continue
        if s == "}":
            stack.pop()
            continue
        if s.startswith("label=") and stack and stack[-1] is None:
            stack[-1] = _text(re.match(r"label=<(.*)> labeljust", s).group(1)).strip()
            continue
        m = re.match(r"(\w+) -> (\w+)", s)
        if m:
            edges.append((m.group(1), m.group(2)))
            continue
        m = re.match(r"(\w+) \[(.*)\]$", s)
        if m and m.group(1) not in ("graph", "node", "edge"):
            lab = re.search(r'label=(<.*>|"[^"]*")', m.group(2)).group(1)
            labels[m.group(1)] = _text(lab[1:-1])
            clusters[m.group(1)] = list(stack)
    assert not stack
    return labels, edges, clusters


def drawn_nodes(*roots):
    """How many nodes a picture of ``roots`` has: one per tensor, except a number lifted by an op (one
    read-only constant that every op using that number shares), drawn once per use."""
    tensors = {id(t): t for r in roots for t in graph_tensors(r)}.values()
    return (sum(1 for t in tensors if not is_lifted_constant(t))
            + sum(1 for t in tensors for p in t.parents if is_lifted_constant(p)))


def graph_tensors(root):
    """Every tensor reachable through .parents (written independently of the viewer)."""
    seen, out, todo = set(), [], [root]
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        todo.extend(t.parents)
    return out


def title_of(label: str) -> str:
    """A node's title: its name (or op) on the first line, without order number, markers or '= op'."""
    first = re.sub(r"^#\d+\s+", "", label.strip().splitlines()[0])
    return first.split("  ")[0].split(" = ")[0].strip()


def node_of(labels, title):
    """The id of the one node titled ``title``."""
    hits = [k for k, v in labels.items() if title_of(v) == title]
    assert len(hits) == 1, (title, hits, labels)
    return hits[0]


def reference_graph():
    """Dense-like layer under scope 'dense' and MSE under 'MeanSquaredError', built by hand."""
    w = tl.Tensor([[0.5], [-0.25]], requires_grad=True, name="dense.kernel")
    b = tl.Tensor([0.1], requires_grad=True, name="dense.bias")
    x = tl.Tensor([[1, 2], [2, 3], [3, 4]], name="x")
    y = tl.Tensor([[3], [5], [7]], name="y")
    with tl.name_scope("dense"):
        h = x @ w
        h.name = "h"
        p = h + b
        p.name = "p"
    with tl.name_scope("MeanSquaredError"):
        d = y - p
        d.name = "d"
        sq = d ** 2
        sq.name = "sq"
        loss = sq.mean()
        loss.name = "loss"
    return dict(w=w, b=b, x=x, y=y, h=h, p=p, d=d, sq=sq, loss=loss)


# --- structure ----------------------------------------------------------------------------

def test_one_node_per_tensor_and_one_edge_per_input():
    g = reference_graph()
    loss = g["loss"]
    labels, edges, _ = parse_dot(tl.to_dot(loss))
    tensors = graph_tensors(loss)
    assert len(labels) == len(tensors) == 10  # 4 leaves, the constant 2, 5 ops
    assert len(edges) == sum(len(t.parents) for t in tensors) == 9
    # every named tensor's inputs are exactly the edges into its node
    for name in ("h", "p", "d", "sq"):
        t = g[name]
        dst = node_of(labels, name)
        srcs = sorted(title_of(labels[s]) for s, d in edges if d == dst)
        want = sorted(("2.0" if p.name is None else p.name) for p in t.parents)
        assert srcs == want


def test_reused_tensor_gets_one_node_and_one_edge_per_use():
    a = tl.Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = a * a
    labels, edges, _ = parse_dot(tl.to_dot(b))
    assert len(labels) == 2
    assert edges.count((node_of(labels, "a"), node_of(labels, "mul"))) == 2


def test_labels_hold_op_shape_and_value():
    g = reference_graph()
    labels, _, _ = parse_dot(tl.to_dot(g["loss"]))
    x = np.array([[1, 2], [2, 3], [3, 4]], float)
    d = np.array([[3], [5], [7]]) - (x @ np.array([[0.5], [-0.25]]) + 0.1)
    lab = labels[node_of(labels, "d")]
    assert "= sub" in lab and "(3, 1)" in lab
    for v in d.ravel():
        assert f"{v:.4g}" in lab
    loss_lab = labels[node_of(labels, "loss")]
    assert "= mean" in loss_lab and "scalar" in loss_lab
    assert f"{np.mean(d ** 2):.4g}" in loss_lab
    assert "dense.kernel" in labels[node_of(labels, "dense.kernel")]
    assert "requires grad" in labels[node_of(labels, "dense.kernel")]
    assert "requires grad" not in labels[node_of(labels, "x")]


def test_precision_option():
    t = tl.Tensor(np.float64(1.0) / 3.0, requires_grad=True, name="third")
    out = t * 3.0
    lab = parse_dot(tl.to_dot(t, precision=2))[0]
    assert "0.33" in lab[node_of(lab, "third")] and "0.333" not in lab[node_of(lab, "third")]
    lab = parse_dot(tl.to_dot(t, precision=6))[0]
    assert "0.333333" in lab[node_of(lab, "third")]
    assert out.op == "mul"


def test_large_tensors_are_summarised():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(10, 10))
    t = tl.Tensor(data, name="big")
    s = tl.exp(t).sum()
    labels = parse_dot(tl.to_dot(s))[0]
    lab = labels[node_of(labels, "big")]
    assert "(10, 10)" in lab
    assert f"min {data.min():.4g}" in lab and f"mean {data.mean():.4g}" in lab and f"max {data.max():.4g}" in lab
    assert f"{data[3, 7]:.4g}" not in lab  # not printed element by element
    assert lab.count("\n") < 6


def test_nonfinite_counts_in_summaries():
    data = np.arange(12, dtype=np.float64)
    data[[2, 5]] = np.nan
    data[7] = np.inf
    labels = parse_dot(tl.to_dot(tl.Tensor(data, name="v")))[0]
    lab = labels[node_of(labels, "v")]
    assert "2 nan" in lab and "1 inf" in lab
    finite = data[np.isfinite(data)]
    assert f"max {finite.max():.4g}" in lab


def test_grad_shown_after_backward_only_and_matches_formula():
    g = reference_graph()
    before = parse_dot(tl.to_dot(g["loss"]))[0]
    assert not any("grad" in v.replace("requires grad", "") for v in before.values())
    g["loss"].backward()
    after = parse_dot(tl.to_dot(g["loss"]))[0]
    x = np.array([[1, 2], [2, 3], [3, 4]], float)
    r = np.array([[3], [5], [7]]) - (x @ np.array([[0.5], [-0.25]]) + 0.1)
    dw = -2.0 / 3.0 * x.T @ r  # d mean((y - xw - b)^2) / dw
    lab = after[node_of(after, "dense.kernel")]
    grad_line = [ln for ln in lab.splitlines() if ln.startswith("grad")][0]
    for v in dw.ravel():
        assert f"{v:.4g}" in grad_line
    assert "grad 1.0" in after[node_of(after, "loss")]
    assert "grad" not in after[node_of(after, "x")].replace("requires grad", "")  # x needs no gradient
    hidden = parse_dot(tl.to_dot(g["loss"], show_grad=False))[0]
    assert not any("grad " in v for v in hidden.values())


def test_show_value_and_show_shape_off():
    g = reference_graph()
    labels = parse_dot(tl.to_dot(g["loss"], show_value=False, show_shape=False))[0]
    lab = labels[node_of(labels, "d")]
    assert "(3, 1)" not in lab and "2.9" not in lab
    assert "sub" in lab


def test_leaves_params_ops_and_output_are_styled_differently():
    g = reference_graph()
    src = tl.to_dot(g["loss"])
    lines = {m.group(1): m.group(0) for m in re.finditer(r"^\s*(n\d+) \[.*$", src, re.M)}
    labels = parse_dot(src)[0]

    def fill(name):
        return re.search(r'BGCOLOR="(#[0-9a-f]+)"', lines[node_of(labels, name)]).group(1)

    assert fill("dense.kernel") == fill("dense.bias")
    assert len({fill("dense.kernel"), fill("x"), fill("d"), fill("loss")}) == 4
    assert 'BORDER="2"' in lines[node_of(labels, "loss")]  # the output is highlighted


def test_clusters_hold_their_scope_nodes():
    g = reference_graph()
    labels, _, clusters = parse_dot(tl.to_dot(g["loss"]))
    for name in ("d", "sq", "loss"):
        assert clusters[node_of(labels, name)] == ["MeanSquaredError"]
    for name in ("h", "p", "dense.kernel", "dense.bias"):  # parameters sit in their layer's box
        assert clusters[node_of(labels, name)] == ["dense"]
    for name in ("x", "y"):
        assert clusters[node_of(labels, name)] == []


def test_nested_scopes_are_nested_clusters():
    a = tl.Tensor([1.0, 2.0], requires_grad=True, name="a")
    with tl.name_scope("outer"):
        u = tl.exp(a)
        u.name = "u"
        with tl.name_scope("inner"):
            v = u * 2.0
            v.name = "v"
    labels, _, clusters = parse_dot(tl.to_dot(v))
    assert clusters[node_of(labels, "u")] == ["outer"]
    assert clusters[node_of(labels, "v")] == ["outer", "inner"]


def test_real_loss_and_layer_scopes():
    tl.nn.clear_session()
    tl.manual_seed(0)
    model = tl.nn.Sequential([tl.nn.Dense(1, input_shape=(2,))])
    loss = tl.losses.MeanSquaredError()(tl.Tensor([3.0, 5.0, 7.0]), model(tl.Tensor([[1, 2], [2, 3], [3, 4]])))
    labels, _, clusters = parse_dot(tl.to_dot(loss))
    ops_in_mse = sorted(labels[k].split()[0] for k, c in clusters.items() if c[-1:] == ["MeanSquaredError"]
                        and not labels[k].startswith(("2.0", "3.0")))
    assert {"sub", "pow", "mean"} <= set(ops_in_mse)
    assert any(labels[k].split()[0] == "matmul" and c[-1] == "dense" for k, c in clusters.items() if c)


# --- collapse and max_nodes --------------------------------------------------------------

def two_layer_graph():
    x = tl.Tensor([[1.0, 2.0]], name="x")
    w1 = tl.Tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True, name="dense.kernel")
    w2 = tl.Tensor([[0.5], [0.6]], requires_grad=True, name="dense_1.kernel")
    with tl.name_scope("sequential"):
        with tl.name_scope("dense"):
            h = tl.relu(x @ w1)
        with tl.name_scope("dense_1"):
            o = h @ w2
    with tl.name_scope("MeanSquaredError"):
        loss = ((o - 1.0) ** 2).mean()
    return loss


def test_collapse_list_matches_dense_scopes_case_insensitively():
    loss = two_layer_graph()
    labels, edges, clusters = parse_dot(tl.to_dot(loss, collapse=["Dense"]))
    groups = {k: v for k, v in labels.items() if k.startswith("g")}
    assert sorted(v.split()[0] for v in groups.values()) == ["dense", "dense_1"]
    assert "matmul, relu" in groups[[k for k, v in groups.items() if v.startswith("dense ")][0]]
    assert all(clusters[k] == ["sequential"] for k in groups)
    assert not any(v.split()[0] in ("matmul", "relu") for v in labels.values())
    assert any(v.split()[0] == "sub" for v in labels.values())  # the loss stays expanded
    full = parse_dot(tl.to_dot(loss))[0]
    assert len(labels) == len(full) - 3 + 2  # matmul, relu, matmul folded into two nodes
    g_dense = [k for k, v in groups.items() if v.startswith("dense ")][0]
    g_dense1 = [k for k, v in groups.items() if v.startswith("dense_1")][0]
    assert (g_dense, g_dense1) in edges and len(set(edges)) == len(edges)


def test_collapse_true_folds_top_level_scopes_and_other_patterns():
    loss = two_layer_graph()
    labels = parse_dot(tl.to_dot(loss, collapse=True))[0]
    groups = sorted(v.split()[0] for k, v in labels.items() if k.startswith("g"))
    assert groups == ["MeanSquaredError", "sequential"]
    assert not any(k.startswith("g") for k in parse_dot(tl.to_dot(loss, collapse=["dense_layer"]))[0])
    only = parse_dot(tl.to_dot(loss, collapse=["sequential/dense_1"]))[0]
    assert sorted(v.split()[0] for k, v in only.items() if k.startswith("g")) == ["dense_1"]
    mse = parse_dot(tl.to_dot(loss, collapse=["meansquarederror"]))[0]
    assert sorted(v.split()[0] for k, v in mse.items() if k.startswith("g")) == ["MeanSquaredError"]
    with pytest.raises(TypeError, match="collapse"):
        tl.to_dot(loss, collapse=[3])


def test_max_nodes_raises_with_collapse_hint():
    x = tl.Tensor([1.0], requires_grad=True, name="x")
    with tl.name_scope("chain"):
        y = x
        for _ in range(40):
            y = y * 1.01
    with pytest.raises(ValueError, match=r"81 nodes, more than max_nodes=20.*collapse=True"):
        tl.to_dot(y, max_nodes=20)
    labels = parse_dot(tl.to_dot(y, max_nodes=20, collapse=True))[0]
    assert len(labels) == 2  # x and the folded chain
    with pytest.raises(ValueError, match="max_nodes"):
        tl.to_dot(y, max_nodes=0)


def test_rankdir_and_bad_options():
    g = reference_graph()
    assert "rankdir=LR" in tl.to_dot(g["loss"])
    assert "rankdir=TB" in tl.to_dot(g["loss"], rankdir="TB")
    with pytest.raises(ValueError, match="rankdir"):
        tl.to_dot(g["loss"], rankdir="sideways")
    with pytest.raises(ValueError, match="precision"):
        tl.to_dot(g["loss"], precision=0)
    with pytest.raises(TypeError, match="unknown option"):
        tl.draw(g["loss"], colour="red")
    with pytest.raises(TypeError, match="Tensor"):
        tl.to_dot(np.ones(3))


def test_labels_are_escaped():
    t = tl.Tensor([1.0], requires_grad=True, name='a<b> & "c"')
    src = tl.to_dot(t * 2.0)
    assert "a&lt;b&gt; &amp; &quot;c&quot;" in src
    assert 'a<b>' not in src
    svg = ET.fromstring(graphviz.Source(src).pipe(format="svg").decode())
    # the parsed text, not the bytes: Graphviz versions escape quotes differently (&quot; or &#34;)
    texts = ["".join(e.itertext()) for e in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert 'a<b> & "c"' in texts


# --- draw and render ---------------------------------------------------------------------

def test_draw_returns_digraph_with_the_same_source():
    g = reference_graph()
    d = tl.draw(g["loss"], rankdir="TB")
    assert isinstance(d, graphviz.Digraph)
    assert d.source == tl.to_dot(g["loss"], rankdir="TB")
    assert g["loss"].draw().source == tl.to_dot(g["loss"])


def _svg_titles(path):
    root = ET.parse(path).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    return {t.text for t in root.iterfind(".//s:g[@class='node']/s:title", ns)}


def test_render_svg_parses_and_contains_every_node(tmp_path):
    g = reference_graph()
    g["loss"].backward()
    out = tl.render(g["loss"], tmp_path / "graph.svg")
    assert out == str(tmp_path / "graph.svg")
    labels = parse_dot(tl.to_dot(g["loss"]))[0]
    assert _svg_titles(out) == set(labels)
    assert sorted(os.listdir(tmp_path)) == ["graph.svg"]  # no temp or .dot files left behind


def test_render_png_and_pdf_and_extension_handling(tmp_path):
    g = reference_graph()
    png = tl.render(g["loss"], tmp_path / "graph", format="png")
    assert png.endswith("graph.png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    pdf = tl.render(g["loss"], str(tmp_path / "g.pdf"))
    with open(pdf, "rb") as f:
        assert f.read(5) == b"%PDF-"
    dot = tl.render(g["loss"], str(tmp_path / "g.dot"))
    with open(dot) as f:
        assert f.read() == tl.to_dot(g["loss"])
    with pytest.raises(ValueError, match="format"):
        tl.render(g["loss"], tmp_path / "g.gif", format="gif")


def test_missing_dot_gives_install_command_and_still_writes_dot(tmp_path, monkeypatch):
    g = reference_graph()
    monkeypatch.setenv("PATH", "")
    target = tmp_path / "sub" / "graph.png"
    with pytest.raises(GraphvizNotFoundError) as e:
        tl.render(g["loss"], target)
    msg = str(e.value)
    assert "sudo apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert isinstance(e.value, RuntimeError)
    dot_file = tmp_path / "sub" / "graph.dot"
    assert str(dot_file) in msg
    assert dot_file.read_text() == tl.to_dot(g["loss"])
    assert not target.exists()
    with pytest.raises(GraphvizNotFoundError):
        tl.render_backprop(g["loss"], tmp_path / "steps.html")
    assert (tmp_path / "steps_step_00.dot").exists()
    assert tl.to_dot(g["loss"])  # to_dot needs no binary


def test_second_order_graph_renders(tmp_path):
    x = tl.Tensor([0.5, 2.0], requires_grad=True, name="x", dtype=np.float64)
    y = (x ** 3).sum()
    (g,) = tl.grad(y, x, create_graph=True)
    g.name = "dy/dx"
    np.testing.assert_allclose(g.data, 3 * np.array([0.5, 2.0]) ** 2)
    labels, edges, _ = parse_dot(tl.to_dot(g))
    tensors = graph_tensors(g)
    assert len(labels) == drawn_nodes(g) and len(edges) == sum(len(t.parents) for t in tensors)
    assert sum(1 for v in labels.values() if v == "3.0") == 2  # the 3 of x ** 3, drawn by each op that uses it
    assert any(v.startswith("x") for v in labels.values())
    assert "dy/dx" in labels[node_of(labels, "dy/dx")]
    (g.sum()).backward()
    both = tl.render([g, y], tmp_path / "second.svg")  # several roots: the union of their graphs
    assert len(_svg_titles(both)) == drawn_nodes(g, y)
    # after backward through the gradient graph, x holds d(sum 3x^2)/dx = 6x
    np.testing.assert_allclose(x.grad.data, 6 * np.array([0.5, 2.0]))
    assert "grad [3.0, 12.0]" in parse_dot(tl.to_dot(g))[0][node_of(labels, "x")]


# --- backprop step by step -------------------------------------------------------------------

def test_backprop_steps_follow_the_engine_and_leave_grads_alone():
    g = reference_graph()
    loss = g["loss"]
    steps = tl.backprop_steps(loss)
    assert all(t.grad is None for t in graph_tensors(loss))  # nothing accumulated
    visits = []
    autograd.backward(loss, retain_graph=True, observer=lambda e, t, p: visits.append((t, p)) if e == "visit" else 0)
    assert len(steps) == len(visits) + 1
    assert steps[0].tensor is loss and "seed" in steps[0].caption
    for step, (t, gr) in zip(steps[1:], visits):
        assert step.tensor is t
        np.testing.assert_array_equal(step.grad, gr.data)
        labels = parse_dot(step.dot)[0]
        hl = [k for k in labels if re.search(rf'^\s*{k} \[label=<<TABLE BORDER="3" COLOR="#d6336c"', step.dot, re.M)]
        assert len(hl) == 1 and hl[0] == node_of_tensor(labels, t)
    # the last picture shows every final gradient; the user's own backward gave the same numbers
    last = parse_dot(steps[-1].dot)[0]
    kernel_grad = [ln for ln in last[node_of(last, "dense.kernel")].splitlines() if ln.startswith("grad")][0]
    for v in g["w"].grad.data.ravel():
        assert f"{v:.4g}" in kernel_grad


def node_of_tensor(labels, t):
    return node_of(labels, t.name)


def test_backprop_steps_show_partial_sums_for_fan_in():
    a = tl.Tensor(2.0, requires_grad=True, name="a")
    u = tl.exp(a)
    u.name = "u"
    v = a * 3.0
    v.name = "v"
    s = u + v
    s.name = "s"
    steps = tl.backprop_steps(s)
    # after the first of a's consumers is processed, a shows "grad so far" = that one term
    order = [st.tensor.name for st in steps]
    assert order[0] == "s" and order[-1] == "a"
    first = order.index("u") if order.index("u") < order.index("v") else order.index("v")
    lab = parse_dot(steps[first].dot)[0]
    term = np.exp(2.0) if steps[first].tensor.name == "u" else 3.0
    assert f"grad so far {term:.4g}" in lab[node_of(lab, "a")]
    final = parse_dot(steps[-1].dot)[0]
    assert f"grad {np.exp(2.0) + 3.0:.4g}" in final[node_of(final, "a")]


def test_backprop_steps_needs_the_graph():
    g = reference_graph()
    g["loss"].backward()
    with pytest.raises(ValueError, match="retain_graph=True"):
        tl.backprop_steps(g["loss"])
    h = reference_graph()
    h["loss"].backward(retain_graph=True)
    kernel_grad = h["w"].grad.data.copy()
    assert len(tl.backprop_steps(h["loss"])) == 8
    np.testing.assert_array_equal(h["w"].grad.data, kernel_grad)  # untouched
    with pytest.raises(ValueError, match="does not require"):
        tl.backprop_steps(tl.Tensor([1.0]).sum())


def test_backprop_steps_grad_so_far_exactly_while_terms_are_missing():
    """A node's row reads "grad so far" iff some, not all, of its consumers have sent their term
    (counted here from the graph's structure and the order of the steps)."""
    x = tl.Tensor([1.0, -2.0], requires_grad=True, name="x")
    w = tl.Tensor([0.5, 0.25], requires_grad=True, name="w")
    h = x * w
    h.name = "h"
    u = tl.tanh(h)
    u.name = "u"
    v = h * h
    v.name = "v"
    s = (u + v + x).sum()
    s.name = "s"
    steps = tl.backprop_steps(s)
    tensors = graph_tensors(s)
    uses = {id(t): [c for c in tensors for p in c.parents if p is t and c.requires_grad] for t in tensors}
    seen_partial = 0
    for k, step in enumerate(steps):
        done = {id(st.tensor) for st in steps[:k + 1]}
        labels = parse_dot(step.dot)[0]
        for t in (x, w, h, u, v):
            sent = sum(id(c) in done for c in uses[id(t)])
            lab = labels[node_of(labels, t.name)]
            partial = 0 < sent < len(uses[id(t)]) and id(t) not in done
            assert ("grad so far" in lab) == partial, (k, t.name, lab)
            assert ("grad " in lab.replace("grad so far", "")) == (sent == len(uses[id(t)]) > 0), (k, t.name)
            seen_partial += partial
    assert seen_partial >= 3  # h (used by tanh and twice by mul) and x (h and the sum) are partial a while


def test_backprop_steps_and_render_refuse_bad_arguments(tmp_path):
    g = reference_graph()
    with pytest.raises(ValueError, match="backprop_steps: expected one output tensor.*2"):
        tl.backprop_steps([g["loss"], g["d"]])
    with pytest.raises(RuntimeError, match=r"^backprop_steps: a gradient argument is needed.*\(3, 1\)"):
        tl.backprop_steps(g["d"])
    with pytest.raises(ValueError, match=r"^backprop_steps: gradient has shape \(2,\)"):
        tl.backprop_steps(g["d"], gradient=np.ones(2))
    assert len(tl.backprop_steps(g["d"], gradient=np.ones((3, 1)))) == 6  # seed, d, p, h, kernel, bias
    with pytest.raises(ValueError, match=r"render: cannot write a \.jpg file; the formats are svg, png, pdf, dot"):
        tl.render(g["loss"], tmp_path / "graph.jpg")
    assert tl.render(g["loss"], tmp_path / "graph.jpg", format="png").endswith("graph.jpg.png")
    with pytest.raises(TypeError, match="render: path must be"):
        tl.render(g["loss"], 3)
    with pytest.raises(TypeError, match="render_backprop: path must be"):
        tl.render_backprop(g["loss"], None)
    with pytest.raises(TypeError, match="render_backprop: format must be a string"):
        tl.render_backprop(g["loss"], tmp_path / "s", format=1)
    assert sorted(os.listdir(tmp_path)) == ["graph.jpg.png"]


@pytest.mark.parametrize("option, value, error, words", [
    ("show_value", "no", TypeError, "show_value must be True or False, got 'no'"),
    ("legend", 1, TypeError, "legend must be True or False"),
    ("show_grad", "auto", TypeError, "show_grad must be True, False or None"),
    ("anomaly", 0, TypeError, "anomaly must be True, False or None"),
    ("title", 3, TypeError, "title must be a string"),
    ("gradcheck", {"tol": 1e-3}, TypeError, "unknown gradcheck option(s) 'tol'; the options are 'atol'"),
    ("gradcheck", {"atol": -1.0}, ValueError, "gradcheck option 'atol' must be a non-negative finite number"),
    ("gradcheck", {"max_elements": 0}, ValueError, "gradcheck option 'max_elements' must be a positive int"),
])
def test_option_values_are_checked(option, value, error, words):
    g = reference_graph()
    with pytest.raises(error, match="^to_dot: " + re.escape(words)):
        tl.to_dot(g["loss"], **{option: value})
    with pytest.raises(error, match=re.escape(words)):
        tl.draw(g["loss"], **{option: value})


def test_render_backprop_html_is_self_contained(tmp_path):
    g = reference_graph()
    page = tl.render_backprop(g["loss"], tmp_path / "steps.html")
    text = open(page, encoding="utf-8").read()
    assert text.count("<svg") == len(tl.backprop_steps(g["loss"])) == text.count("<section ")
    for act in ("first", "prev", "play", "next", "last", "zoom-in", "zoom-out", "zoom-reset"):
        assert f'data-act="{act}"' in text
    assert 'type="range"' in text and 'max="7"' in text  # the step slider
    assert not re.search(r'(src|href)\s*=\s*"https?:', text)  # no network
    assert "<?xml" not in text
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    for sec in re.findall(r"<svg.*?</svg>", text, re.S):
        ET.fromstring(sec)


def test_render_backprop_numbered_files(tmp_path):
    g = reference_graph()
    files = tl.render_backprop(g["loss"], tmp_path / "steps", format="svg")
    assert [os.path.basename(f) for f in files] == [f"step_{k:02d}.svg" for k in range(8)]
    for f in files:
        ET.parse(f)
    pngs = tl.render_backprop(g["loss"], str(tmp_path / "png"), format="png")
    assert len(pngs) == 8 and open(pngs[0], "rb").read(4) == b"\x89PNG"


# --- examples -----------------------------------------------------------------------------

def png_dot_source(path):
    """The DOT source stored in a PNG's iTXt chunk 'tinygrad_loss:dot' (None if absent), read with
    an independent chunk walker that checks every CRC."""
    import struct
    import zlib
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, found = 8, None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body), kind
        if kind == b"iTXt":
            key, rest = body.split(b"\0", 1)
            if key == b"tinygrad_loss:dot":
                flag, rest = rest[0], rest[2:]
                _lang, _translated, text = rest.split(b"\0", 2)
                found = (zlib.decompress(text) if flag else text).decode("utf-8")
        pos += 12 + n
        if kind == b"IEND":
            assert pos == len(data)
    return found


def test_png_carries_the_dot_source_it_was_drawn_from(tmp_path):
    g = reference_graph()
    png = tl.render(g["loss"], tmp_path / "g.png", rankdir="TB", legend=True)
    assert png_dot_source(png) == tl.to_dot(g["loss"], rankdir="TB", legend=True)
    files = tl.render_backprop(g["loss"], tmp_path / "steps", format="png")
    steps = tl.backprop_steps(g["loss"])
    assert [png_dot_source(f) for f in files] == [s.dot for s in steps]


def _html_step_texts(path):
    """The text of every SVG in a render_backprop page, section by section."""
    page = open(path, encoding="utf-8").read()
    return [[" ".join("".join(e.itertext()).split()) for e in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
            for svg in re.findall(r"<svg.*?</svg>", page, re.S)]


@pytest.fixture(scope="module")
def fresh_graph_pictures(tmp_path_factory):
    out = tmp_path_factory.mktemp("graphs")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "render_graphs.py"), str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def test_render_graphs_example_writes_the_docs_pictures(fresh_graph_pictures):
    out = fresh_graph_pictures
    for name in ("reference_forward.png", "reference_backward.png", "cross_entropy.png", "mlp_full.png",
                 "mlp_collapsed.png", "second_order.png", "backprop_steps.html"):
        assert (out / name).stat().st_size > 1000, name
    assert len(os.listdir(out / "steps")) >= 5


def test_docs_graph_pictures_are_current(fresh_graph_pictures):
    """The checked-in pictures of docs/graphs.md are what the code draws now: each PNG's embedded DOT
    source (not its pixels, which depend on the fonts) and each step page's texts match a fresh run.
    Regenerate them with `python examples/render_graphs.py`."""
    out, img = fresh_graph_pictures, os.path.join(ROOT, "docs", "img")
    fresh = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    checked_in = sorted(os.path.relpath(p, img) for p in glob.glob(os.path.join(img, "**", "*.png"), recursive=True)
                        if not os.path.basename(p).startswith(("diag_", "loss_atlas_", "landscape_"))
                        and os.path.basename(p) != "walkthrough.png")
    # nothing missing, nothing stale (diag_* come from examples/diagnostics.py; loss_atlas_* and landscape_* from
    # examples/landscapes.py, checked by tests/test_plots.py; walkthrough.png from examples/walkthrough_screenshot.py)
    assert fresh == checked_in
    for name in fresh:
        src = png_dot_source(os.path.join(img, name))
        assert src is not None and src == png_dot_source(out / name), f"docs/img/{name} is stale"
    assert _html_step_texts(os.path.join(img, "backprop_steps.html")) == _html_step_texts(out / "backprop_steps.html")


def test_docs_reference_the_pictures_that_exist():
    doc = open(os.path.join(ROOT, "docs", "graphs.md"), encoding="utf-8").read()
    pics = re.findall(r"\]\((img/[^)]+)\)", doc)
    assert len(pics) >= 10
    for p in pics:
        assert os.path.exists(os.path.join(ROOT, "docs", p)), p


def test_render_refuses_a_directory_and_backprop_dir_without_dot(tmp_path, monkeypatch):
    g = reference_graph()
    with pytest.raises(ValueError, match="directory"):
        tl.render(g["loss"], tmp_path)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError, match="step_"):
        tl.render_backprop(g["loss"], tmp_path / "steps", format="svg")
    assert sorted(os.listdir(tmp_path / "steps")) == [f"step_{k:02d}.dot" for k in range(8)]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="uses Linux's /proc, where no file can be created")
def test_unwritable_target_error_names_the_requested_file():
    g = reference_graph()
    with pytest.raises(OSError, match=r"^\[Errno \d+\] cannot write '/proc/graph.svg'"):
        tl.render(g["loss"], "/proc/graph.svg")


def test_a_lone_leaf_is_one_node():
    labels, edges, clusters = parse_dot(tl.to_dot(tl.Tensor([1.0, 2.0], name="x")))
    assert len(labels) == 1 and edges == [] and "[1.0, 2.0]" in labels["n0"]


# --- random graphs: the structural promises hold for any expression -----------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

_UNARY = [tl.exp, tl.tanh, tl.sigmoid, lambda t: t.sum(), lambda t: t * 2.0, lambda t: -t]
_BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b]


@settings(max_examples=30, derandomize=True, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 50), st.integers(0, 50),
                          st.sampled_from(["", "A", "B", "A/inner"])), min_size=1, max_size=12),
       st.booleans())
def test_random_graphs_one_node_per_tensor_one_edge_per_input(steps, do_backward):
    pool = [tl.Tensor([0.5, -0.25], requires_grad=True, name="p0"), tl.Tensor([1.0, 2.0], name="c0")]
    for unary, k, i, j, scope in steps:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if a.shape != b.shape:
            b = a
        with tl.name_scope(scope.split("/")[0]) if scope else _Null():
            if scope == "A/inner":
                with tl.name_scope("inner"):
                    t = _UNARY[k](a) if unary else _BINARY[k % 3](a, b)
            else:
                t = _UNARY[k](a) if unary else _BINARY[k % 3](a, b)
        pool.append(t)
    root = pool[-1]
    if do_backward and root.requires_grad:
        (root.sum() if root.size > 1 else root).backward()
    labels, edges, clusters = parse_dot(tl.to_dot(root, show_order=True, show_fanin=True, notes=True))
    tensors = graph_tensors(root)
    assert len(labels) == len(tensors)
    assert len(edges) == sum(len(t.parents) for t in tensors)
    by_scope = {}
    for t in tensors:
        if not t.is_leaf:
            by_scope[t.scope] = by_scope.get(t.scope, 0) + 1
    for scope, n in by_scope.items():  # every op sits in the cluster path of its scope
        want = scope.split("/") if scope else []
        drawn = sum(1 for k, c in clusters.items() if c == want and not k.startswith("g")
                    and title_of(labels[k]) in ("exp", "tanh", "sigmoid", "sum", "mul", "neg", "add", "sub"))
        assert drawn == n


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_docs_code_blocks_run_in_order(tmp_path, monkeypatch, capsys):
    doc = open(os.path.join(ROOT, "docs", "graphs.md"), encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/graphs.md block {i + 1}", "exec"), namespace)
    for f in ("loss.svg", "loss.png", "steps.html", "steps/step_00.svg", "diagnostics.png", "second_order.svg",
              "model.png"):
        assert (tmp_path / "out" / f).exists(), f
    out = capsys.readouterr().out
    assert "<BackpropSteps: 5 steps of the backward pass from 'mean'" in out
    assert "step 3 of 5: 'sub' (in MyLoss) sends -g = [[-2.0], [-3.167], [-4.333]] to 'matmul' (in MyLoss)" in out
    assert "'HandWrittenCrossentropy/log'" in out and "(2, 3)" in out


def test_reference_program_writes_its_graph_to_out():
    import time
    start = time.time()
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "linear_regression.py")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    svg = os.path.join(ROOT, "out", "linear_regression_graph.svg")
    png = os.path.join(ROOT, "out", "linear_regression_graph.png")
    assert os.path.getmtime(svg) >= start - 1 and os.path.getmtime(png) >= start - 1
    titles = _svg_titles(svg)
    text = open(svg, encoding="utf-8").read()
    assert len(titles) >= 10 and "dense.kernel" in text and "MeanSquaredError" in text
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "graph of one training step:" in r.stdout


def test_viewer_never_imports_training_code():
    import ast
    viz_dir = os.path.join(ROOT, "tinygrad_loss", "viz")
    banned = {"nn", "optim", "training", "losses", "callbacks", "metrics", "keras"}
    for fname in os.listdir(viz_dir):
        if not fname.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(viz_dir, fname), encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                mods = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            else:
                continue
            for m in mods:
                assert not (set(m.split(".")) & banned), f"viz/{fname} imports {m}"


def test_legend_lists_the_colours_in_use():
    g = reference_graph()
    assert "op result" not in tl.to_dot(g["loss"])
    before = tl.to_dot(g["loss"], legend=True)
    assert "parameter" in before and "op result" in before and "grad = " not in before
    g["loss"].backward()
    after = tl.to_dot(g["loss"], legend=True, notes=True)
    assert "grad = ∂output/∂node" in after and ">note<" in after
    steps = tl.backprop_steps(reference_graph()["loss"], legend=True)
    assert all("node being processed" in st.dot for st in steps)
    # every tensor of the reference graph has one consumer: no partial sum is ever drawn, nor listed
    assert not any("grad so far" in st.dot for st in steps)
    a = tl.Tensor(2.0, requires_grad=True, name="a")
    s = tl.exp(a) + a * 3.0
    shown = ["grad so far (terms still to come)" in st.dot for st in tl.backprop_steps(s, legend=True)]
    assert shown == [False, False, True, False, False]  # seed, add, first use of a (a: 1 of 2 terms), second, a


# --- the walk-through as a sequence, captions, layout ------------------------------------------

def test_backprop_steps_is_a_sequence_with_a_one_line_repr_and_an_inline_walkthrough():
    g = reference_graph()
    steps = tl.backprop_steps(g["loss"])
    assert len(steps) == 8 and [s.index for s in steps] == list(range(8)) and steps[-1] is steps[7]
    assert [s.index for s in steps[2:4]] == [2, 3] and isinstance(steps, tl.BackpropSteps)
    r = repr(steps)
    assert "\n" not in r and len(r) < 160 and "7 steps" in r and "digraph" not in r
    one, two = steps._repr_html_(), steps._repr_html_()
    ids_one, ids_two = set(re.findall(r'\bid="([^"]+)"', one)), set(re.findall(r'\bid="([^"]+)"', two))
    assert ids_one and not ids_one & ids_two  # each displayed copy has its own ids
    for frag in (one, two):
        (uid,) = re.findall(r'<div class="tlw" id="([^"]+)"', frag)
        css = re.search(r"<style>(.*?)</style>", frag, re.S).group(1)
        selectors = [sel.strip() for rule in re.findall(r"([^{}]+)\{", css) for sel in rule.split(",")]
        assert selectors and all(sel.startswith("#" + uid) for sel in selectors)  # scoped CSS
        script = re.search(r"<script>(.*?)</script>", frag, re.S).group(1)
        assert script.count("document.") == 1 and f'document.getElementById("{uid}")' in script
        assert len(re.findall(r"<section ", frag)) == 8
        assert all(i == uid or i.startswith(uid + "-") for i in re.findall(r'\bid="([^"]+)"', frag))


def test_captions_state_the_local_rule_and_the_engines_terms():
    g = reference_graph()
    steps = {s.tensor.name: s for s in tl.backprop_steps(g["loss"])[1:]}
    x, w, y = g["x"].data.astype(float), g["w"].data.astype(float), g["y"].data.astype(float)
    d = y - (x @ w + g["b"].data)                   # NumPy, independently of the engine
    g_sq = np.full((3, 1), 1 / 3)                   # mean over 3 elements
    g_d = 2 * d * g_sq                              # pow(d, 2): 2·a·g
    (target, rule, term), = steps["sq"].sent
    assert target is g["d"] and rule == "2·a·g"
    np.testing.assert_allclose(term, g_d, rtol=1e-6)
    assert "'pow' (in MeanSquaredError) sends 2·a·g = [[" in steps["sq"].caption and "to 'sub'" in steps["sq"].caption
    (t, rule, term), = steps["d"].sent                 # y - p: the second input receives -g
    assert t is g["p"] and rule == "-g"
    np.testing.assert_allclose(term, -g_d, rtol=1e-6)
    (t1, r1, g1), (t2, r2, g2) = steps["p"].sent       # h + b: b is broadcast over the batch
    assert (t1, r1, t2, r2) == (g["h"], "g", g["b"], "sum(g)")
    np.testing.assert_allclose(g2, [-g_d.sum()], rtol=1e-6)
    assert f"sum(g) = [{-g_d.sum():.4g}] to 'dense.bias'" in steps["p"].caption
    (t, rule, term), = steps["h"].sent
    assert t is g["w"] and rule == "aᵀ·g"
    np.testing.assert_allclose(term, x.T @ -g_d, rtol=1e-6)
    assert steps["loss"].sent[0][1] == "g/3"


def test_local_rules_match_the_numbers_they_describe():
    """Each rule a caption names, evaluated with NumPy on the op's inputs, gives the engine's term."""
    a = tl.Tensor([0.3, -1.2], requires_grad=True, name="a")
    b = tl.Tensor([2.0, 0.5], requires_grad=True, name="b")
    formulas = {"b·g": lambda A, B, G, O: B * G, "a·g": lambda A, B, G, O: A * G, "g/b": lambda A, B, G, O: G / B,
                "-a·g/b²": lambda A, B, G, O: -A * G / B ** 2, "exp(a)·g": lambda A, B, G, O: np.exp(A) * G,
                "(1 - tanh²(a))·g": lambda A, B, G, O: (1 - np.tanh(A) ** 2) * G,
                "σ(a)·(1 - σ(a))·g": lambda A, B, G, O: O * (1 - O) * G, "g where a > 0": lambda A, B, G, O: G * (A > 0),
                "3.0·a^2.0·g": lambda A, B, G, O: 3 * A ** 2 * G, "-g": lambda A, B, G, O: -G}
    outs = [a * b, a / b, tl.exp(a), tl.tanh(a), tl.sigmoid(a), tl.relu(a), a ** 3, -a]
    seen = set()
    for out in outs:
        loss = (out * tl.Tensor([1.5, -0.5])).sum()
        step = [s for s in tl.backprop_steps(loss) if s.tensor is out][0]
        for target, rule, term in step.sent:
            A, B = a.data.astype(float), b.data.astype(float)
            expected = formulas[rule](A, B, step.grad.astype(float), out.data.astype(float))
            np.testing.assert_allclose(term, expected, rtol=1e-5, err_msg=rule)
            seen.add(rule)
    assert len(seen) == len(formulas)


def test_collapsed_scopes_keep_captions_truthful():
    g = reference_graph()
    steps = tl.backprop_steps(g["loss"], collapse=["dense"])
    add = [s for s in steps if s.tensor is g["p"]][0]
    assert "the collapsed 'dense' box (its add) sends" in add.caption and "'add' (in dense)" not in add.caption
    labels = parse_dot(add.dot)[0]
    box = [k for k, v in labels.items() if title_of(v) == "dense"]
    assert len(box) == 1 and re.search(rf'^\s*{box[0]} \[shape=box3d[^\n]*color="#d6336c" penwidth=3', add.dot, re.M)


def test_rankdir_default_turns_deep_graphs_top_to_bottom():
    x = tl.Tensor([1.0], requires_grad=True, name="x")
    shallow, deep = tl.tanh(x), x
    for _ in range(20):
        deep = tl.tanh(deep)
    assert "rankdir=LR" in tl.to_dot(shallow) and "rankdir=TB" in tl.to_dot(deep)
    assert "rankdir=LR" in tl.to_dot(deep, rankdir="LR") and "rankdir=TB" in tl.backprop_steps(deep.sum())[0].dot


def test_import_needs_no_graphviz():
    code = "import sys, tinygrad_loss as tl; tl.to_dot(tl.Tensor([1.0]) * 2); print('graphviz' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_no_function_in_viz_is_over_60_lines():
    import ast
    viz_dir = os.path.join(ROOT, "tinygrad_loss", "viz")
    long = []
    for fname in sorted(os.listdir(viz_dir)):
        if fname.endswith(".py"):
            tree = ast.parse(open(os.path.join(viz_dir, fname), encoding="utf-8").read())
            long += [f"{fname}:{n.name} ({n.end_lineno - n.lineno + 1})" for n in ast.walk(tree)
                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert not long, long


# --- plot_model ---------------------------------------------------------------------------------

def _model_boxes(src):
    labels, edges, clusters = parse_dot(src)
    return {k: [ln.strip() for ln in v.strip().splitlines()] for k, v in labels.items()}, edges, clusters


def test_plot_model_draws_one_box_per_layer_with_keras_shapes(tmp_path):
    tl.nn.clear_session()
    model = tl.keras.Sequential([tl.keras.layers.Dense(4, activation="relu", input_shape=(2,)),
                                 tl.keras.layers.Dense(3), tl.keras.layers.Dense(1, activation="sigmoid")])
    assert tl.keras.utils.plot_model is tl.plot_model
    pic = tl.keras.utils.plot_model(model)
    boxes, edges, _ = _model_boxes(pic.source)
    titles = {k: v[0] for k, v in boxes.items()}
    by_title = {v: k for k, v in titles.items()}
    assert set(titles.values()) == {"sequential_input (InputLayer)", "dense (Dense)", "dense_1 (Dense)",
                                    "dense_2 (Dense)"}
    chain = [by_title[t] for t in ("sequential_input (InputLayer)", "dense (Dense)", "dense_1 (Dense)",
                                   "dense_2 (Dense)")]
    assert edges == list(zip(chain, chain[1:]))
    assert boxes[by_title["dense_1 (Dense)"]][1:] == ["Input shape: (None, 4)", "Output shape: (None, 3)"]
    assert "image/svg+xml" in pic._repr_mimebundle_()  # displays inline
    full = tl.plot_model(model, show_dtype=True, show_layer_activations=True, show_trainable=True, rankdir="LR")
    b = _model_boxes(full.source)[0][by_title["dense (Dense)"]]
    assert b[1:] == ["Input shape: (None, 2)", "Output shape: (None, 4)", "dtype: float32", "Activation: relu",
                     "Trainable: Y"] and "rankdir=LR" in full.source
    bare = _model_boxes(tl.plot_model(model, show_shapes=False, show_layer_names=False).source)[0]
    assert sorted(v[0] for v in bare.values()) == ["Dense", "Dense", "Dense", "InputLayer"]
    assert all(len(v) == 1 for v in bare.values())
    assert tl.draw(model).source == pic.source  # tl.draw(model) is the same picture


def test_plot_model_writes_files_atomically_and_checks_arguments(tmp_path):
    tl.nn.clear_session()
    model = tl.keras.Sequential([tl.keras.layers.Dense(2, input_shape=(3,))])
    small = tl.plot_model(model, to_file=str(tmp_path / "m100.png"), dpi=100)
    tl.plot_model(model, to_file=tmp_path / "m200.png", dpi=200)

    def png_size(p):
        import struct
        data = (tmp_path / p).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        return struct.unpack(">II", data[16:24])

    (w1, h1), (w2, h2) = png_size("m100.png"), png_size("m200.png")
    assert 1.8 < w2 / w1 < 2.2 and 1.8 < h2 / h1 < 2.2  # dpi scales the PNG
    tl.plot_model(model, to_file=str(tmp_path / "m.svg"))
    ET.parse(tmp_path / "m.svg")
    tl.plot_model(model, to_file=str(tmp_path / "m.dot"))
    assert (tmp_path / "m.dot").read_text() == small.source
    assert sorted(os.listdir(tmp_path)) == ["m.dot", "m.svg", "m100.png", "m200.png"]  # no temporary left
    for kw, err, words in [(dict(to_file=str(tmp_path / "m.jpg")), ValueError, "plot_model: to_file must end"),
                           (dict(rankdir="BT"), ValueError, "plot_model: rankdir"),
                           (dict(dpi=0), ValueError, "plot_model: dpi"),
                           (dict(show_shapes="yes"), TypeError, "plot_model: show_shapes"),
                           (dict(to_file=3), TypeError, "plot_model: to_file")]:
        with pytest.raises(err, match=words):
            tl.plot_model(model, **kw)
    with pytest.raises(TypeError, match="plot_model: model must be"):
        tl.plot_model(tl.Tensor([1.0]))
    assert sorted(os.listdir(tmp_path)) == ["m.dot", "m.svg", "m100.png", "m200.png"]


def test_plot_model_expand_nested():
    tl.nn.clear_session()
    inner = tl.keras.Sequential([tl.keras.layers.Dense(3, input_shape=(2,)), tl.keras.layers.Dense(3)], name="block")
    model = tl.keras.Sequential([inner, tl.keras.layers.Dense(1)])
    boxes, edges, clusters = _model_boxes(tl.plot_model(model).source)
    assert sorted(v[0] for v in boxes.values()) == ["block (Sequential)", "dense_2 (Dense)"] and len(edges) == 1
    boxes, edges, clusters = _model_boxes(tl.plot_model(model, expand_nested=True).source)
    titles = {k: v[0] for k, v in boxes.items()}
    inside = sorted(titles[k] for k, c in clusters.items() if c == ["block (Sequential)"])
    assert inside == ["dense (Dense)", "dense_1 (Dense)"] and len(edges) == 2


def test_plot_model_draws_a_functional_models_graph():
    tl.nn.clear_session()
    keras = tl.keras
    a, b = keras.Input(shape=(4,), name="features"), keras.Input(shape=(2,), name="extra")
    h = keras.layers.Dense(8, activation="relu", name="hidden")(a)
    joined = keras.layers.Concatenate(name="concat")([h, b])
    model = keras.Model([a, b], [keras.layers.Dense(1, name="score")(joined), keras.layers.Dense(3, name="klass")(h)])
    boxes, edges, _ = _model_boxes(tl.plot_model(model).source)
    name = {k: v[0].split(" ")[0] for k, v in boxes.items()}
    assert sorted(name.values()) == ["concat", "extra", "features", "hidden", "klass", "score"]
    assert sorted((name[s], name[d]) for s, d in edges) == [("concat", "score"), ("extra", "concat"),
                                                            ("features", "hidden"), ("hidden", "concat"),
                                                            ("hidden", "klass")]
    concat = boxes[[k for k, v in name.items() if v == "concat"][0]]
    assert concat[1:] == ["Input shape: (None, 8), (None, 2)", "Output shape: (None, 10)"]


def test_viz_benchmark_runs_and_reports_its_rows():
    """benchmarks/viz_bench.py stays runnable (its numbers are recorded by running it, not asserted here)."""
    r = subprocess.run([sys.executable, "-m", "benchmarks.viz_bench", "--rounds", "1"], capture_output=True, text=True,
                       timeout=300, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr
    assert re.search(r"10k / 1k = [\d.]+x", r.stdout)
    rows = re.findall(r"(\d+) tensors: CPU +[\d.]+ s, wall +[\d.]+ s", r.stdout)
    assert len(rows) == 2 and all(280 <= int(n) <= 320 for n in rows)


def test_long_walkthroughs_are_shown_in_parts():
    x = tl.Tensor([0.5], requires_grad=True, name="x")
    y = x
    for _ in range(tl.viz.steps.MAX_INLINE_STEPS):
        y = tl.tanh(y)
    steps = tl.backprop_steps(y.sum(), show_value=False)
    assert len(steps) == tl.viz.steps.MAX_INLINE_STEPS + 3  # seed, sum, the tanh chain, x
    notice = steps._repr_html_()
    assert "too many to show inline" in notice and "<svg" not in notice and len(notice) < 1000
    part = steps[10:14]
    assert isinstance(part, tl.BackpropSteps) and [s.index for s in part] == [10, 11, 12, 13]
    assert repr(part) == f"<BackpropSteps: steps 10 to 13 of {len(steps) - 1} of a backward pass; shown as a " \
                         "walk-through in Jupyter>"
    frag = part._repr_html_()
    assert frag.count("<section ") == 4 and f"step 10 of {len(steps) - 1}:" in frag
    assert repr(steps[5:5]) == "<BackpropSteps: no steps>" and "<svg" not in steps[5:5]._repr_html_()
