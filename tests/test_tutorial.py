"""docs/tutorial.md runs, prints what it says it prints, and its pictures come from examples/.

* Every ```python block runs, in order, in one namespace, in a temporary working directory; a
  ```text block right after a python block is that block's expected output (compared exactly).
* The numbers the tutorial states are re-derived here from independent references (least
  squares, the L1 line through two data points, Huber by iteratively reweighted least squares).
* examples/tutorial_figures.py writes every picture the tutorial shows (run into a temporary
  directory), and the checked-in pictures say what a fresh run says.
* examples/plot_history.py draws the curve with History.plot, and says which extra to install
  when matplotlib is missing.
* examples/README.md lists every example.
"""
import contextlib
import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import tinygrad_loss as tl

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "tutorial.md"
EXAMPLES = ROOT / "examples"
FIGURES = ROOT / "docs" / "img" / "tutorial"
SVG_NS = "{http://www.w3.org/2000/svg}"

FIGURE_FILES = {"mse_graph.svg", "ce_probs_graph.svg", "ce_logits_graph.svg", "loss_curve.svg",
                "outliers.svg"} | {f"backprop_steps/step_{k:02d}.svg" for k in range(9)}

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", re.S | re.M)


def doc_cells(text: str):
    """[(code, expected_output or None)] for the python blocks of a Markdown text, in order.

    A ```text block separated from a python block by whitespace only is its expected output."""
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in _FENCE.finditer(text)]
    cells = []
    for i, (lang, code, _, end) in enumerate(blocks):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(blocks):
            nlang, ncode, nstart, _ = blocks[i + 1]
            if nlang == "text" and text[end:nstart].strip() == "":
                expected = ncode
        cells.append((code, expected))
    return cells


_STEP_TIME = re.compile(r"- \d+s \d+(us|ms|s)/step")  # Keras's progress line times each epoch: varies per run


def _lines(s: str):
    return [_STEP_TIME.sub("- <time>/step", line.rstrip()) for line in s.strip("\n").splitlines()]


def _matches(printed, expected) -> bool:
    """Line by line, where a line '...' in the expected output stands for any number of lines."""
    if not expected:
        return not printed
    if expected[0] == "...":
        return any(_matches(printed[i:], expected[1:]) for i in range(len(printed) + 1))
    return bool(printed) and printed[0] == expected[0] and _matches(printed[1:], expected[1:])


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    """Run the tutorial once: its namespace, the outputs compared and the files it wrote."""
    work = tmp_path_factory.mktemp("tutorial")
    cells = doc_cells(DOC.read_text(encoding="utf-8"))
    namespace = {"__name__": "__tutorial__"}
    old_cwd, old_path = os.getcwd(), list(sys.path)
    os.chdir(work)
    compared = 0
    try:
        for i, (code, expected) in enumerate(cells, 1):
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(code, f"docs/tutorial.md python block {i}", "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"docs/tutorial.md python block {i} failed: {e!r}\n{code}") from e
            if expected is not None:
                assert _matches(_lines(out.getvalue()), _lines(expected)), (
                    f"docs/tutorial.md python block {i} printed\n{out.getvalue()}\nbut the tutorial shows\n{expected}")
                compared += 1
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
    written = {str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()}
    return {"ns": namespace, "cells": len(cells), "compared": compared, "written": written, "dir": work}


def test_every_python_block_runs_and_prints_its_shown_output(tutorial):
    assert tutorial["cells"] >= 15
    # most blocks show their output, and every shown output was compared (the check is not vacuous)
    shown = sum(1 for _, expected in doc_cells(DOC.read_text(encoding="utf-8")) if expected is not None)
    assert tutorial["compared"] == shown >= 12


def test_tutorial_writes_the_files_it_talks_about(tutorial):
    w = tutorial["written"]
    assert {"out/mse_graph.svg", "out/ce_probs_graph.svg", "out/ce_logits_graph.svg", "out/backprop_steps.html"} <= w
    assert {f"out/backprop_steps/step_{k:02d}.svg" for k in range(9)} <= w
    assert "out/loss_curve.png" in w and (tutorial["dir"] / "out" / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
    # run from the repository root, the tutorial leaves no untracked file: everything goes to out/ (ignored)
    assert all(name.startswith("out/") for name in w), sorted(w)


def test_expected_output_matching_is_strict_but_for_ellipsis_and_step_times():
    assert _matches(_lines("a\nb\nc\nd"), ["a", "...", "d"]) and _matches(["a"], ["a", "..."])
    assert not _matches(["a", "b"], ["a"]) and not _matches(["a", "x", "d"], ["a", "...", "c"])
    assert _lines("1/1 [===] - 0s 553us/step - loss: 4.1") == _lines("1/1 [===] - 0s 12ms/step - loss: 4.1")
    assert _lines("1/1 [===] - 0s 553us/step - loss: 4.1") != _lines("1/1 [===] - 0s 553us/step - loss: 4.2")


def test_mse_three_ways_and_its_gradient(tutorial):
    ns = tutorial["ns"]
    y, y_hat = np.array([3.0, 5.0, 7.0]), np.array([2.5, 5.5, 8.0])
    assert ns["mse"].item() == pytest.approx(np.mean((y - y_hat) ** 2)) == 0.5
    np.testing.assert_allclose(ns["y_pred_2"].grad.numpy(), 2 / 3 * (y_hat - y), rtol=1e-6)
    assert {t.scope for t in tl.topological_order(ns["mse"])} == {"MeanSquaredError"}


def test_cross_entropy_numbers(tutorial):
    ns = tutorial["ns"]
    z = np.array([0.5, 2.0, -1.0])
    log_softmax = z - np.log(np.sum(np.exp(z)))
    assert ns["ce_logits"].item() == pytest.approx(-log_softmax[1], rel=1e-6)
    assert ns["ce"].item() == pytest.approx(-np.log(0.7), rel=1e-6)
    assert np.isnan(ns["naive"].item()) and ns["stable"].item() == pytest.approx(998.0)
    assert ns["clipped"].item() == pytest.approx(-np.log(1e-7), rel=1e-5)


def test_reference_fit_reaches_the_predicted_member_of_the_solution_family(tutorial):
    ns = tutorial["ns"]
    w0, b0 = ns["w_start"], ns["b_start"]
    t = (w0[0] - w0[1] + b0[0]) / 3
    w1, w2, b = ns["reached"]
    # the whole family fits: w1 + w2 = 2 and w2 + b = 1, and SGD keeps w1 - w2 + b fixed
    assert abs(w1 + w2 - 2) < 0.01 and abs(w2 + b - 1) < 0.01
    np.testing.assert_allclose(ns["reached"], [1 + t, 1 - t, t], atol=0.01)
    X = np.array([[1, 2, 1], [2, 3, 1], [3, 4, 1]], dtype=float)
    np.testing.assert_allclose(X @ ns["reached"], [3, 5, 7], atol=0.02)
    # the curvature the text quotes to explain the slow last stretch
    lam = np.sort(np.linalg.eigvalsh(2 / 3 * X.T @ X))[::-1]
    assert f"eigenvalues {lam[0]:.1f}, {lam[1]:.3f} and 0" in DOC.read_text(encoding="utf-8") and abs(lam[2]) < 1e-12


def test_loss_curve_figure_shows_the_tutorials_run(tutorial):
    sys.path.insert(0, str(EXAMPLES))
    try:
        from plot_history import train_reference
    finally:
        sys.path.remove(str(EXAMPLES))
    history = train_reference(epochs=100)
    np.testing.assert_allclose(history.history["loss"], tutorial["ns"]["loss_curve"], rtol=1e-6)


def test_gradient_step_matches_numpy(tutorial):
    ns = tutorial["ns"]
    # an independent float64 recomputation from the seeded initial weights
    X, y = np.array([[1, 2], [2, 3], [3, 4]], dtype=float), np.array([3.0, 5.0, 7.0])
    w, b = ns["w_start"].astype(float), ns["b_start"].astype(float)
    r = X @ w + b - y
    gw, gb = 2 / 3 * X.T @ r, 2 / 3 * r.sum()
    np.testing.assert_allclose(ns["w_by_hand"].ravel(), w - 0.01 * gw, rtol=1e-5)
    np.testing.assert_allclose(ns["b_by_hand"], [b[0] - 0.01 * gb], rtol=1e-5, atol=1e-7)


def _l1_line(x, y):
    """The least-absolute-deviations line: an optimal one passes through two data points."""
    best = None
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            w = (y[j] - y[i]) / (x[j] - x[i])
            b = y[i] - w * x[i]
            cost = np.abs(y - w * x - b).sum()
            if best is None or cost < best[0]:
                best = (cost, w, b)
    return best[1], best[2]


def _huber_line(x, y, delta=1.0, iters=200):
    """Huber regression by iteratively reweighted least squares (weights min(1, δ/|r|))."""
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    for _ in range(iters):
        r = y - A @ coef
        wts = np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-12))
        coef = np.linalg.solve(A.T @ (wts[:, None] * A), A.T @ (wts * y))
    return coef[0], coef[1]


def test_outlier_experiment_matches_independent_fits(tutorial):
    ns = tutorial["ns"]
    x, y = ns["x_line"][:, 0], ns["y_line"]
    fits = ns["fits"]
    np.testing.assert_allclose(fits["MSE"], np.polyfit(x, y, 1), atol=0.01)
    np.testing.assert_allclose(fits["MAE"], _l1_line(x, y), atol=0.01)
    np.testing.assert_allclose(fits["Huber"], _huber_line(x, y), atol=0.01)
    # the stated lesson: the outlier moves the MSE slope far more than the robust losses'
    assert abs(fits["MSE"][0] - 2) > 0.5 > 0.05 > max(abs(fits["MAE"][0] - 2), abs(fits["Huber"][0] - 2))


def test_classification_numbers(tutorial):
    ns = tutorial["ns"]
    y, p = ns["y_bin"], ns["p_bin"]
    ref = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert ns["bce"] == pytest.approx(ref) and ns["bce_logits"] == pytest.approx(ref, rel=1e-6)
    assert ns["cce"] == pytest.approx(ns["scce"]) == pytest.approx(-np.mean(np.log([0.7, 0.8, 0.4])))


# --- the pictures ---------------------------------------------------------------------------------

def _svg_texts(path: Path):
    root = ET.parse(path).getroot()
    return [" ".join("".join(el.itertext()).split()) for el in root.iter(f"{SVG_NS}text")]


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "tutorial_figures.py"), str(out)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    return out


def test_figure_script_writes_every_picture(figures):
    written = {str(p.relative_to(figures)) for p in figures.rglob("*") if p.is_file()}
    assert written == FIGURE_FILES
    for name in FIGURE_FILES:
        if name.endswith(".svg"):
            ET.parse(figures / name)  # well-formed XML


def test_tutorial_shows_only_pictures_the_script_makes():
    text = DOC.read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\(img/tutorial/([^)]+)\)", text))
    assert {"mse_graph.svg", "ce_probs_graph.svg", "ce_logits_graph.svg", "loss_curve.svg", "outliers.svg"} <= shown
    assert shown <= FIGURE_FILES
    # the interactive page is the one docs/graphs.md uses (same model, seed and step; kept current by test_viz)
    assert "](img/backprop_steps.html)" in text and (FIGURES.parent / "backprop_steps.html").exists()
    checked_in = {str(p.relative_to(FIGURES)) for p in FIGURES.rglob("*") if p.is_file()}
    assert checked_in == FIGURE_FILES  # nothing missing, nothing stale


def test_checked_in_pictures_are_current(figures):
    """Every text a fresh run draws (values, gradients, captions, legends) is in the checked-in files.
    Regenerate them with `python examples/tutorial_figures.py`."""
    for name in sorted(FIGURE_FILES):
        if name.endswith(".svg"):
            assert _svg_texts(FIGURES / name) == _svg_texts(figures / name), f"docs/img/tutorial/{name} is stale"


def _html_svg_texts(path: Path):
    """The texts of each inline SVG of a render_backprop page."""
    page = path.read_text(encoding="utf-8")
    return [[" ".join("".join(el.itertext()).split()) for el in ET.fromstring(svg).iter(f"{SVG_NS}text")]
            for svg in re.findall(r"<svg.*?</svg>", page, re.S)]


def test_mse_graph_shows_values_and_gradients(figures):
    texts = " | ".join(_svg_texts(figures / "mse_graph.svg"))
    for s in ("MeanSquaredError", "sub", "pow", "mean", "y_true", "y_pred", "[0.5, -0.5, -1.0]",
              "[0.25, 0.25, 1.0]", "grad [-0.3333, 0.3333, 0.6667]", "grad 1.0"):
        assert s in texts, s


def test_cross_entropy_graphs(figures):
    probs = " | ".join(_svg_texts(figures / "ce_probs_graph.svg"))
    logits = " | ".join(_svg_texts(figures / "ce_logits_graph.svg"))
    assert all(op in probs for op in ("CategoricalCrossentropy", "clip", "log", "0.3567", "grad [1.0, -0.4286, 1.0]"))
    assert "log_softmax" in logits and "0.2413" in logits and "grad [0.1753, -0.2144, 0.03911]" in logits


def test_backprop_frames_and_page(figures):
    page = (FIGURES.parent / "backprop_steps.html").read_text(encoding="utf-8")
    assert len(re.findall(r"<section\b", page)) == 9 and "step 8 of 8" in page
    # the page prints each caption above its picture, so its pictures are the frames without the caption line
    frame = _svg_texts(figures / "backprop_steps" / "step_08.svg")
    assert _html_svg_texts(FIGURES.parent / "backprop_steps.html")[8] == [t for t in frame
                                                                          if not t.startswith("step 8 of 8:")]
    assert 'data-caption="step 8 of 8: ' in page
    first = " ".join(_svg_texts(figures / "backprop_steps" / "step_00.svg"))
    last = " ".join(_svg_texts(figures / "backprop_steps" / "step_08.svg"))
    assert "step 0 of 8" in first and "step 8 of 8" in last and "dense.bias" in last


def test_outlier_figure_legend_is_the_experiment(figures, tutorial):
    texts = _svg_texts(figures / "outliers.svg")
    for name, (w, b) in tutorial["ns"]["fits"].items():
        assert f"{name}: y = {w:.2f}x + {b:.2f}" in texts


def test_loss_curve_has_one_point_per_epoch(figures):
    """matplotlib writes the curve as one <path> of 100 vertices (M, then 99 L), inside a line2d group."""
    root = ET.parse(figures / "loss_curve.svg").getroot()
    counts = [len(re.findall(r"[ML]", p.get("d", ""))) for g in root.iter(f"{SVG_NS}g")
              if (g.get("id") or "").startswith("line2d") for p in g.iter(f"{SVG_NS}path")]
    assert counts.count(100) == 1
    assert "loss (log scale)" in _svg_texts(figures / "loss_curve.svg")


# --- plot_history -------------------------------------------------------------------------------------

def test_plot_history_script_writes_the_curve(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLES / "plot_history.py"), str(tmp_path / "curve.png")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")
    assert sorted(os.listdir(tmp_path)) == ["curve.png"]  # no temporary file left behind
    m = re.search(r"loss: first epoch ([\d.]+), last epoch ([\d.]+)", proc.stdout)
    assert m and float(m.group(2)) < 1e-3 * float(m.group(1))


def test_plot_history_script_without_matplotlib_names_the_extra(tmp_path):
    code = ("import sys, runpy; sys.modules['matplotlib'] = None; sys.argv = ['plot_history.py', sys.argv[1]]; "
            "runpy.run_path(%r, run_name='__main__')" % str(EXAMPLES / "plot_history.py"))
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "curve.png")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    assert "pip install 'tinygrad_loss[plot]'" in proc.stderr and not list(tmp_path.iterdir())


# --- examples/README.md ------------------------------------------------------------------------------

def test_examples_readme_lists_every_example():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert len(scripts) >= 7
    for name in scripts:
        assert f"python examples/{name}" in readme, f"examples/README.md does not say how to run {name}"
    for name in set(re.findall(r"python examples/([\w.]+\.py)", readme)):
        assert (EXAMPLES / name).exists(), f"examples/README.md lists {name}, which does not exist"


def test_readme_links_the_tutorial_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[\w./-]+)\)", readme)
    assert links and links[0] == "docs/tutorial.md", links[:3]


def test_one_import_alias_across_readme_docs_and_notebooks():
    """`import tinygrad_loss as tl` in every code block; `as tf` only in TensorFlow programs run verbatim (the
    reference program, a GradientTape loop): blocks that use TensorFlow's own names."""
    import json
    blocks = []
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = p.read_text(encoding="utf-8")
        blocks += [(p.name, b) for b in re.findall(r"```python\n(.*?)```", text, re.S)]
        assert not re.search(r"\btg\.", text), f"{p.name} uses the alias tg"
    for nb in sorted((ROOT / "docs" / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        blocks += [(nb.name, "".join(c["source"])) for c in cells if c["cell_type"] == "code"]
    seen = 0
    for name, block in blocks:
        for alias in re.findall(r"import tinygrad_loss as (\w+)", block):
            seen += 1
            tensorflow_program = re.search(r"tf\.(keras\.Sequential|GradientTape)", block)
            assert alias == "tl" or (alias == "tf" and tensorflow_program), (name, alias, block[:200])
    assert seen >= 8
