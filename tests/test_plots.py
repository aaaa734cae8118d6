"""The pictures (tinygrad_loss.viz.plots, History.plot, examples/landscapes.py, docs/landscapes.md):
each figure holds the artists it should, with the numbers of the compute functions, and without
matplotlib every drawing call says which extra to install."""
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import tinygrad_loss as tl  # noqa: E402
from tinygrad_loss.optim import SGD, Adam  # noqa: E402
from tinygrad_loss.viz import (loss_curves, loss_surface, optimizer_paths, plot_history, plot_loss_atlas,  # noqa: E402
                               plot_loss_surface, save_figure)

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def rosenbrock(w):
    return (1 - w[..., 0]) ** 2 + 100 * (w[..., 1] - w[..., 0] ** 2) ** 2


def _contour_sets(ax):
    from matplotlib.contour import ContourSet
    return [c for c in ax.collections if isinstance(c, ContourSet)]


# --- surfaces and paths --------------------------------------------------------------------------

def test_surface_figure_has_one_contour_set_and_one_line_per_path():
    X, Y, Z = loss_surface(rosenbrock, (-2, 2), (-1, 3), steps=41)
    paths = optimizer_paths(rosenbrock, [-1.5, 2.0], {"SGD": SGD, "Adam": Adam}, steps=30, learning_rate=1e-3)
    fig = plot_loss_surface(X, Y, Z, paths=paths, title="valley")
    ax = fig.axes[0]
    assert len(_contour_sets(ax)) == 1
    assert [line.get_label() for line in ax.lines] == ["SGD", "Adam"]
    for line, path in zip(ax.lines, paths.values()):
        np.testing.assert_array_equal(np.c_[line.get_xdata(), line.get_ydata()], path)
    ends = [c for c in ax.collections if c not in _contour_sets(ax) and c.get_offsets().shape[0] == 1]
    starts = [c for c in ax.collections if c.get_label() == "start"]
    assert len(ends) == 2 and [tuple(e.get_offsets()[0]) for e in ends] == [tuple(p[-1]) for p in paths.values()]
    np.testing.assert_array_equal(starts[0].get_offsets(), [[-1.5, 2.0], [-1.5, 2.0]])
    assert ax.get_title() == "valley" and len(fig.axes) == 2  # the plot and its colour bar


def test_surface_levels_are_log_spaced_for_a_deep_valley():
    X, Y, Z = loss_surface(rosenbrock, (-2, 2), (-1, 3), steps=21)
    log_fig = plot_loss_surface(X, Y, Z)  # spans 0 .. 3600+: log levels chosen automatically
    lin_fig = plot_loss_surface(X, Y, Z, log_levels=False)
    log_levels = _contour_sets(log_fig.axes[0])[0].levels
    lin_levels = _contour_sets(lin_fig.axes[0])[0].levels
    assert log_levels.max() < 4 and lin_levels.max() > 1000  # log10 of the loss, versus the loss
    assert log_fig.axes[1].get_ylabel() == "log10(loss)"


def test_surface_draws_into_a_given_axes():
    from matplotlib.figure import Figure
    fig = Figure()
    left, right = fig.subplots(1, 2)
    X, Y, Z = loss_surface(lambda w: (w ** 2).sum(axis=-1), (-1, 1), (-1, 1), steps=11)
    assert plot_loss_surface(X, Y, Z, ax=right, colorbar=False) is fig
    assert len(_contour_sets(right)) == 1 and not _contour_sets(left)


def test_surface_rejects_bad_input_before_drawing():
    X, Y, Z = loss_surface(lambda w: (w ** 2).sum(axis=-1), (-1, 1), (-1, 1), steps=5)
    with pytest.raises(ValueError, match="plot_loss_surface: X, Y and Z"):
        plot_loss_surface(X, Y, Z[:3])
    with pytest.raises(ValueError, match=r"plot_loss_surface: paths\['p'\]"):
        plot_loss_surface(X, Y, Z, paths={"p": [1, 2, 3]})
    with pytest.raises(ValueError, match="plot_loss_surface: log_levels"):
        plot_loss_surface(X, Y, Z - 1, log_levels=True)
    with pytest.raises(ValueError, match="plot_loss_surface: ax"):
        plot_loss_surface(X, Y, Z, ax="axes")


# --- the atlas -----------------------------------------------------------------------------------

def test_regression_atlas_draws_each_curve_and_its_derivative():
    curves = loss_curves(kind="regression", steps=51)
    fig = plot_loss_atlas(curves)
    value_ax, deriv_ax = fig.axes
    value_lines, deriv_lines = ([ln for ln in a.lines if not ln.get_label().startswith("_")] for a in fig.axes)
    assert [line.get_label() for line in value_lines] == list(curves)
    for (x, v, d), v_line, d_line in zip(curves.values(), value_lines, deriv_lines):
        np.testing.assert_array_equal(v_line.get_ydata(), v)
        np.testing.assert_array_equal(d_line.get_ydata(), d)
        np.testing.assert_array_equal(d_line.get_xdata(), x)
        assert v_line.get_color() == d_line.get_color()


def test_classification_atlas_has_a_probability_row_and_a_margin_row():
    fig = plot_loss_atlas(kind="classification")
    assert len(fig.axes) == 4
    top = [line.get_label() for line in fig.axes[0].lines if not line.get_label().startswith("_")]
    bottom = [line.get_label() for line in fig.axes[2].lines if not line.get_label().startswith("_")]
    assert "binary_crossentropy" in top and bottom == ["hinge", "squared_hinge"]
    assert "probability" in fig.axes[0].get_xlabel() and "margin" in fig.axes[2].get_xlabel()
    with pytest.raises(ValueError, match="plot_loss_atlas: ax must be 4 matplotlib Axes"):
        plot_loss_atlas(kind="classification", ax=fig.axes[:2])


# --- History.plot and its inline picture ---------------------------------------------------------

def _history(loss, val_loss=None, **more):
    h = tl.History()
    h.epoch = list(range(len(loss)))
    h.history = {"loss": list(loss), **({"val_loss": list(val_loss)} if val_loss else {}), **more}
    return h


def test_history_plot_draws_training_and_validation_per_epoch():
    h = _history([40.0, 4.0, 0.4, 0.04], [50.0, 6.0, 0.7, 0.09], accuracy=[0.1, 0.5, 0.8, 0.9])
    fig = h.plot()
    loss_ax, acc_ax = fig.axes
    (train, val) = loss_ax.lines
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(train.get_ydata(), h.history["loss"])
    np.testing.assert_array_equal(val.get_ydata(), h.history["val_loss"])
    assert (train.get_label(), val.get_label()) == ("training", "validation")
    assert loss_ax.get_yscale() == "log" and acc_ax.get_yscale() == "linear"  # three decades vs [0, 1]
    assert h.plot(log_y=False).axes[0].get_yscale() == "linear"
    only = h.plot(metrics="accuracy")
    assert len(only.axes) == 1 and only.axes[0].get_ylabel() == "accuracy"


def test_history_plot_into_given_axes_and_errors():
    from matplotlib.figure import Figure
    fig = Figure()
    ax = fig.subplots()
    h = _history([1.0, 0.5])
    assert h.plot(ax=ax) is fig and len(ax.lines) == 1
    with pytest.raises(ValueError, match=r"History.plot: no logged values named \['val_accuracy'\]"):
        h.plot(metrics=["val_accuracy"])
    with pytest.raises(ValueError, match="History.plot: the history is empty"):
        tl.History().plot()
    with pytest.raises(TypeError, match="History.plot: expected a History"):
        plot_history([1.0, 2.0])


def test_history_shows_inline_as_its_curves():
    h = _history([9.0, 3.0, 1.0])
    png = h._repr_png_()
    assert png.startswith(PNG)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (640, 400)
    assert repr(h) == "History(epochs=3, keys=['loss'])"
    assert tl.History()._repr_png_() is None  # nothing to draw: the text repr alone


def test_history_from_fit_plots_its_loss():
    tl.nn.clear_session()
    tl.manual_seed(0)
    model = tl.Sequential([tl.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    h = model.fit([[1, 2], [2, 3], [3, 4]], [3, 5, 7], epochs=20, verbose=0,
                  validation_data=([[4, 5]], [9]))
    labels = [line.get_label() for line in h.plot().axes[0].lines]
    assert labels == ["training", "validation"]


def test_figures_display_inline_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    try:
        X, Y, Z = loss_surface(lambda w: (w ** 2).sum(axis=-1), (-1, 1), (-1, 1), steps=5)
        fig = plot_loss_surface(X, Y, Z)
        data, _ = shell.display_formatter.format(fig)
        assert data["image/png"].startswith(PNG)
        data, _ = shell.display_formatter.format(_history([2.0, 1.0]))
        assert data["image/png"].startswith(PNG) and data["text/plain"] == "History(epochs=2, keys=['loss'])"
    finally:
        InteractiveShell.clear_instance()


# --- without matplotlib --------------------------------------------------------------------------

@pytest.mark.parametrize("draw", ["history", "atlas", "surface"])
def test_without_matplotlib_every_drawing_names_the_extra(monkeypatch, draw):
    X, Y, Z = loss_surface(lambda w: (w ** 2).sum(axis=-1), (-1, 1), (-1, 1), steps=5)
    curves = loss_curves(["mse"], x=[0.0, 1.0])
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # `import matplotlib...` now raises ImportError
    call = {"history": lambda: _history([1.0]).plot(), "atlas": lambda: plot_loss_atlas(curves),
            "surface": lambda: plot_loss_surface(X, Y, Z)}[draw]
    with pytest.raises(ImportError, match=re.escape("pip install 'tinygrad_loss[plot]'")):
        call()
    assert _history([1.0])._repr_png_() is None  # Jupyter falls back to the text repr


def test_import_needs_no_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None; import tinygrad_loss as tl; "
            "X, Y, Z = tl.viz.loss_surface(lambda w: (w ** 2).sum(axis=-1), (0, 1), (0, 1), steps=3); "
            "c = tl.viz.loss_curves(); print(len(c), Z.shape)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["7", "(3,", "3)"]
    proc = subprocess.run([sys.executable, "-c", "import sys, tinygrad_loss; print('matplotlib' in sys.modules)"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.stdout.strip() == "False"


# --- files ---------------------------------------------------------------------------------------

def test_save_figure_writes_atomically_and_repeatably(tmp_path):
    X, Y, Z = loss_surface(lambda w: (w ** 2).sum(axis=-1), (-1, 1), (-1, 1), steps=5)
    fig = plot_loss_surface(X, Y, Z)
    first = save_figure(fig, tmp_path / "a" / "s.png")
    assert Path(first).read_bytes().startswith(PNG)
    save_figure(plot_loss_surface(X, Y, Z), tmp_path / "a" / "t.png")  # the same figure, drawn again
    assert (tmp_path / "a" / "s.png").read_bytes() == (tmp_path / "a" / "t.png").read_bytes()  # no timestamp
    svg = save_figure(fig, tmp_path / "a" / "s.svg")
    assert "<text" in Path(svg).read_text(encoding="utf-8")  # text stays text
    assert sorted(os.listdir(tmp_path / "a")) == ["s.png", "s.svg", "t.png"]
    with pytest.raises(ValueError, match=r"save_figure: path must end in \.png"):
        save_figure(fig, tmp_path / "s.jpg")
    assert not (tmp_path / "s.jpg").exists()


# --- the gallery and its page --------------------------------------------------------------------

GALLERY = ("loss_atlas_regression.png", "loss_atlas_classification.png", "landscape_reference_fit.png",
           "landscape_reference_optimizers.png", "landscape_rosenbrock.png", "landscape_mlp.png")


def test_gallery_script_writes_every_picture(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "landscapes.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path)) == sorted(GALLERY)
    from PIL import Image
    for name in GALLERY:
        fresh, checked_in = (Image.open(tmp_path / name), Image.open(ROOT / "docs" / "img" / name))
        assert fresh.format == checked_in.format == "PNG" and fresh.size == checked_in.size
        # the numbers each picture shows (stored in the PNG; pixels depend on fonts and matplotlib versions)
        assert fresh.text["Description"], name
        assert fresh.text["Description"] == checked_in.text["Description"], (
            f"docs/img/{name} is stale: run python examples/landscapes.py")


def test_landscapes_page_shows_the_whole_gallery():
    page = (ROOT / "docs" / "landscapes.md").read_text(encoding="utf-8")
    shown = re.findall(r"\]\(img/([^)]+\.png)\)", page)
    assert sorted(set(shown)) == sorted(GALLERY)
    for name in ("Li et al", "WeightHistory", "loss_surface", "optimizer_paths", "model_loss_surface"):
        assert name in page
    losses_doc = (ROOT / "docs" / "losses.md").read_text(encoding="utf-8")
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    choosing = tutorial.split("## 7. Choosing a loss", 1)[1]
    for text in (losses_doc, choosing):
        assert "img/loss_atlas_regression.png" in text and "img/loss_atlas_classification.png" in text


def test_landscapes_page_snippets_run_and_print_what_it_shows(tmp_path, monkeypatch):
    import contextlib
    import io
    page = (ROOT / "docs" / "landscapes.md").read_text(encoding="utf-8")
    cells = re.findall(r"```python\n(.*?)```\s*(?:```text\n(.*?)```)?", page, flags=re.S)
    assert len(cells) >= 4 and all(expected for _, expected in cells)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__landscapes_doc__"}
    for i, (code, expected) in enumerate(cells, 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"docs/landscapes.md block {i}", "exec"), namespace)
        assert out.getvalue().split("\n") == expected.split("\n"), f"block {i} printed\n{out.getvalue()}"
    assert sorted(os.listdir(tmp_path)) == ["atlas.png", "reference.png", "rosenbrock.png"]


def test_history_and_figures_show_inline_in_a_notebook():
    """Run as a notebook (nbclient, a real kernel): a History on the last line shows its curves as a PNG
    with the short text repr beside it, and a returned Figure shows once (no second copy from pyplot)."""
    import nbformat
    from nbclient import NotebookClient
    cells = [
        "import tinygrad_loss as tl\n"
        "tl.manual_seed(0)\n"
        "model = tl.Sequential([tl.Dense(1, input_shape=(2,))])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
        "history = model.fit([[1, 2], [2, 3], [3, 4]], [3, 5, 7], epochs=30, verbose=0)\n"
        "history",
        "history.plot()",
        "tl.viz.plot_loss_atlas(kind='classification')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
        pictures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pictures) == 1, (cell.source, cell.outputs)
    first = nb.cells[0].outputs[-1]["data"]
    assert first["text/plain"] == "History(epochs=30, keys=['loss'])"
    import base64
    assert base64.b64decode(first["image/png"]).startswith(PNG)
