"""The training examples and the snippets of docs/training.md run, and they converge."""
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_loss as tl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _fresh_names():
    tl.nn.clear_session()


def run_example(name):
    return runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_linear_regression_example_converges(capsys):
    g = run_example("linear_regression.py")
    out = capsys.readouterr().out
    losses = g["history"].history["loss"]
    assert len(losses) == 100 and losses[-1] < 1e-3 * losses[0]
    assert "learned kernel:" in out and "learned bias:" in out and f"last epoch {losses[-1]:.6f}" in out
    (a, b), (c,) = g["dense"].kernel.numpy().ravel(), g["dense"].bias.numpy()
    # the three points fit exactly when a + b = 2 and b + c = 1 (they lie on x2 = x1 + 1)
    assert abs(a + b - 2) < 0.05 and abs(b + c - 1) < 0.1
    np.testing.assert_allclose(g["model"].predict(g["x_train"]).ravel(), g["y_train"], atol=0.05)


def test_loop_example_matches_fit_example(capsys):
    fit = run_example("linear_regression.py")
    tl.nn.clear_session()
    loop = run_example("linear_regression_loop.py")
    out = capsys.readouterr().out
    # same seed, same initial weights, same rule: the explicit loop reproduces fit's history
    np.testing.assert_allclose(loop["losses"], fit["history"].history["loss"], rtol=1e-5)
    assert loop["losses"][-1] < 1e-3 * loop["losses"][0]
    assert "epoch 100" in out and "learned kernel:" in out


def test_classification_example_reaches_stated_accuracy(capsys):
    g = run_example("classification.py")
    out = capsys.readouterr().out
    assert g["test_accuracy"] >= g["STATED_TEST_ACCURACY"] == 0.95
    # the accuracy is real: recompute it from predict() and the one-hot labels
    pred = g["model"].predict(g["x_test"]).argmax(1)
    assert np.mean(pred == g["y_test"].argmax(1)) == pytest.approx(g["test_accuracy"])
    assert f"test accuracy {g['test_accuracy']:.3f}" in out and 'Model: "sequential"' in out
    # and the data need the hidden layers: a linear softmax model does much worse
    lin = tl.Sequential([tl.Dense(3, input_shape=(2,))])
    lin.compile(optimizer=tl.Adam(learning_rate=0.01), loss=tl.losses.CategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    lin.fit(g["x_train"], g["y_train"], epochs=30, verbose=0)
    assert lin.evaluate(g["x_test"], g["y_test"], verbose=0)[1] < 0.85


def test_main_job_runs_as_a_script():
    """What ``make demo`` runs: a fresh interpreter, the script as is."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "linear_regression.py")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"loss: first epoch ([\d.]+), last epoch ([\d.]+)", proc.stdout)
    assert m and float(m.group(2)) < 1e-3 * float(m.group(1))
    assert proc.stdout.count("Epoch ") == 100


def _doc_blocks(path):
    text = path.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_training_doc_snippets_run(capsys, tmp_path, monkeypatch):
    blocks = _doc_blocks(ROOT / "docs" / "training.md")
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace = {}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"docs/training.md block {i + 1}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the message names the block
            raise AssertionError(f"docs/training.md block {i + 1} failed: {e!r}\n{code}") from e
