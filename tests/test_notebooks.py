"""The teaching notebooks of docs/notebooks/ run without errors and show rich outputs.

Each notebook is executed with nbclient on the python3 kernel (installed by `make test` from the
dev extra), in a temporary working directory, exactly as a reader would run it cell by cell.
"""
import os
import re
from pathlib import Path

import pytest

import nbformat  # in the dev extra: a missing one is a broken install, not a skip
from nbclient import NotebookClient  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "docs" / "notebooks"


def run_notebook(path: Path, cwd: Path):
    """The notebook at ``path`` after running every cell in ``cwd`` (the package is found as installed,
    or through PYTHONPATH pointing at the repository: the kernel inherits this process's environment)."""
    nb = nbformat.read(str(path), as_version=4)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), old) if p)
    try:
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    return nb


def outputs(nb, mime=None):
    """Every output of every code cell (or only those holding ``mime``)."""
    out = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    return out if mime is None else [o for o in out if mime in o.get("data", {})]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return {p.stem: run_notebook(p, tmp_path_factory.mktemp(p.stem)) for p in sorted(NOTEBOOKS.glob("*.ipynb"))}


def test_there_are_teaching_notebooks():
    assert {"losses", "backprop"} <= {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    for p in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(str(p), as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert not outputs(nb), f"{p.name} is checked in with outputs; clear them (the tests run it)"


def test_every_notebook_runs_without_errors_or_warnings(executed):
    for name, nb in executed.items():
        errors = [o for o in outputs(nb) if o.output_type == "error"]
        assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
        stderr = [o.text for o in outputs(nb) if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{name} wrote to stderr: {stderr[0][:300]}"


def test_losses_notebook_draws_its_graphs_and_checks_gradients(executed):
    nb = executed["losses"]
    svgs = outputs(nb, "image/svg+xml")
    assert len(svgs) >= 3 and all("<svg" in o.data["image/svg+xml"] for o in svgs)
    assert "MeanSquaredError" in svgs[0].data["image/svg+xml"] and "grad" in svgs[0].data["image/svg+xml"]
    # tl.draw's display also offers the scrollable, zoomable viewport (a notebook prefers text/html)
    assert all('class="tlw"' in o.data["text/html"] and 'data-act="zoom-in"' in o.data["text/html"]
               and 'data-act="next"' not in o.data["text/html"] for o in svgs)
    text = "".join(o.text for o in outputs(nb) if o.output_type == "stream")
    assert "gradcheck passed" in text and "naive: nan" in text and "from_logits: 998.0" in text


def test_backprop_notebook_shows_walkthroughs_a_model_picture_and_training(executed):
    nb = executed["backprop"]
    html = [o.data["text/html"] for o in outputs(nb, "text/html") if 'class="tlw"' in o.data["text/html"]]
    assert len(html) >= 3  # the reference step, the bigger classifier, the trained model
    uids = [re.search(r'<div class="tlw" id="([^"]+)"', h).group(1) for h in html]
    assert len(set(uids)) == len(uids)
    for o in outputs(nb, "text/html"):
        plain = o.data.get("text/plain", "")
        assert "\n" not in plain.strip() and len(plain) < 200  # the one-line repr, never the DOT source
    model_pics = [o.data["image/svg+xml"] for o in outputs(nb, "image/svg+xml")]
    assert any("(InputLayer)" in s and "(Dense)" in s for s in model_pics)
    text = "".join(o.text for o in outputs(nb) if o.output_type == "stream")
    assert "Epoch 1/100" in text and "Epoch 100/100" in text and "loss: 41.5921" in text
    assert "sends 2·a·g = " in text
