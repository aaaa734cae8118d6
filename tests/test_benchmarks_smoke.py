"""Smoke tests for benchmarks/: every benchmark runs (tiny repeat counts) and fills its table rows,
and the MLP step written four ways computes the same numbers. No timing is asserted anywhere:
timings on a shared machine are noise, only ``python -m benchmarks`` reports them.
torch is never loaded here (``use_torch=False``): it is an optional benchmark-only comparison.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import memory, mlp, reference, run, tiny_ops  # noqa: E402
from benchmarks.timing import Results, Row, format_table, measure  # noqa: E402

import tinygrad_loss as tg  # noqa: E402
from tinygrad_loss import Tensor  # noqa: E402

SMALL = (12, 8, 5)  # a shrunken MLP: same code paths, milliseconds to run


def _rows(res: Results, bench_prefix: str):
    return [r for r in res.rows if r.benchmark.startswith(bench_prefix)]


def _softmax_ce_reference(w1, b1, w2, b2, x, onehot):
    """Loss and gradients of the MLP, written independently (float64, the textbook formulas)."""
    x, w1, b1, w2, b2, onehot = (np.asarray(v, np.float64) for v in (x, w1, b1, w2, b2, onehot))
    h = x @ w1 + b1
    a = np.where(h > 0, h, 0.0)
    z = a @ w2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(x)
    loss = -np.mean(np.sum(onehot * np.log(p), axis=1))
    dz = (p - onehot) / n
    da = dz @ w2.T
    dh = da * (h > 0)
    return loss, [x.T @ dh, dh.sum(0), a.T @ dz, dz.sum(0)]


@pytest.mark.parametrize("sizes,batch", [(SMALL, 6), ((mlp.N_IN, mlp.N_HIDDEN, mlp.N_OUT), mlp.BATCH)])
def test_numpy_and_ours_mlp_steps_compute_the_same_numbers(sizes, batch):
    problem = mlp.Problem(seed=3, batch=batch, sizes=sizes)
    loss_ref, grads_ref = _softmax_ce_reference(*problem.params, problem.x, problem.onehot)
    expected = [p.astype(np.float64) - mlp.LR * g for p, g in zip(problem.params, grads_ref)]

    np_step, np_params = mlp.make_numpy(problem)
    ops_step, ops_params = mlp.make_ops(problem)
    assert np_step() == pytest.approx(loss_ref, rel=1e-5)
    assert ops_step() == pytest.approx(loss_ref, rel=1e-5)
    for got_np, got_ops, want in zip(np_params, [p.data for p in ops_params], expected):
        assert got_np.dtype == np.float32 and got_ops.dtype == np.float32
        np.testing.assert_allclose(got_np, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_ops, want, rtol=1e-5, atol=1e-6)
    # the updates really moved the weights (a step that changed nothing would pass the above only if lr=0)
    assert not np.allclose(np_params[0], problem.params[0], rtol=0, atol=1e-9)
    # and a second step keeps them together
    np_step(), ops_step()
    for got_np, got_ops in zip(np_params, ops_params):
        np.testing.assert_allclose(got_ops.data, got_np, rtol=1e-5, atol=1e-6)


def test_layers_version_of_the_mlp_step_matches_numpy():
    why = mlp.nn_available()
    if why is not None:
        pytest.skip(why)
    problem = mlp.Problem(seed=4, batch=mlp.BATCH)
    np_step, np_params = mlp.make_numpy(problem)
    nn_step, nn_params = mlp.make_nn(problem)
    for _ in range(2):
        assert nn_step() == pytest.approx(np_step(), rel=1e-5)
    for got, want in zip(nn_params, np_params):
        np.testing.assert_allclose(got.data, want, rtol=1e-5, atol=1e-6)


def test_tiny_chain_matches_numpy_and_its_gradient_is_right():
    xv, wv = tiny_ops.inputs()
    ours = tiny_ops.make_ours(xv, wv)
    y = ours["fwd+bwd"]()
    np.testing.assert_allclose(y.item(), tiny_ops.chain_numpy(xv, wv), rtol=1e-5)
    # the benchmark's backward gives the gradient: check it against central differences in float64
    x64 = Tensor(xv.astype(np.float64), requires_grad=True)
    w64 = Tensor(wv.astype(np.float64), requires_grad=True)
    assert tg.gradcheck(tiny_ops.chain, x64, w64)
    tiny_ops.chain(x64, w64).backward()
    np.testing.assert_allclose(ours["x"].grad.data, x64.grad.data, rtol=1e-4)
    np.testing.assert_allclose(ours["w"].grad.data, w64.grad.data, rtol=1e-4)


def test_tiny_chain_has_twenty_ops():
    xv, wv = tiny_ops.inputs()
    x, w = Tensor(xv, requires_grad=True), Tensor(wv, requires_grad=True)
    y = tiny_ops.chain(x, w)
    # 19 elementwise ops and the final sum; each op is one graph node
    assert len(tg.topological_order(y)) == tiny_ops.N_OPS


def test_mlp_benchmark_produces_rows_without_torch():
    res = mlp.run(number=1, repeat=1, warmup=0, problem=mlp.Problem(batch=4, sizes=SMALL), use_torch=False)
    steps = _rows(res, "MLP step 12-8-5, b=4")
    overhead = _rows(res, "MLP step overhead")
    assert len(steps) + len(overhead) == len(res.rows)
    names = [r.variant for r in steps]
    assert names[:2] == ["NumPy (hand-written)", "ours (Tensor ops)"]
    assert "PyTorch CPU eager" not in names
    assert any("PyTorch" in n and "skipped" in n for n in res.notes)
    for r in steps:
        assert r.value > 0 and r.ratio > 0
    ours = [r for r in steps if r.variant.startswith("ours")]
    assert ours and all(r.target == "<= 1.15" and r.met is not None for r in ours)
    # one overhead row per framework other than NumPy (a difference of timings: any sign)
    assert [r.variant for r in overhead] == names[1:]
    assert all(isinstance(r.value, float) for r in overhead)


def test_tiny_ops_benchmark_produces_rows_without_torch():
    res = tiny_ops.run(number=2, repeat=1, warmup=0, use_torch=False)
    variants = {r.variant: r for r in res.rows}
    assert {"ours fwd+bwd", "ours fwd", "NumPy fwd only"} <= set(variants)
    assert all(v.value > 0 for v in variants.values())
    assert any("PyTorch rows skipped" in n for n in res.notes)


def test_reference_benchmark_runs_or_says_why_not():
    res = reference.run(repeat=1, warmup=0, epochs=5)
    (row,) = res.rows
    if reference.available() is None:
        assert row.value > 0 and row.met == (row.value < 0.0025)
        assert row.target == "< 2.5 ms"  # 50 ms per 100 epochs, scaled (not rounded to "< 2 ms")
    else:
        assert row.value is None and any("skipped" in n for n in res.notes)


def test_memory_benchmark_measures_peaks_and_growth():
    problem = mlp.Problem(batch=8, sizes=SMALL)
    res = memory.run(growth_steps=5, problem=problem)
    peaks = {r.variant: r for r in _rows(res, "MLP step peak memory")}
    assert peaks["NumPy (hand-written)"].value > 0
    assert peaks["ours (Tensor ops)"].value > 0 and peaks["ours (Tensor ops)"].met is not None
    (growth,) = _rows(res, "MLP growth")
    assert growth.met is not None


def test_peak_bytes_sees_numpy_allocations():
    # tracemalloc must see array buffers, or the memory comparison would only count Python objects
    peak, held = memory.peak_bytes(lambda: np.ones(100_000).sum(), warmup=0)
    assert peak >= 800_000 and held < 100_000


def test_leaf_grads_only_step_stores_no_intermediate_grad_and_the_same_update():
    problem = mlp.Problem(seed=5, batch=4, sizes=SMALL)
    full_step, full_params = mlp.make_ops(problem)
    lean_step, lean_params = mlp.make_ops(problem, intermediate_grads=False)
    assert lean_step() == full_step()
    for a, b in zip(full_params, lean_params):
        np.testing.assert_array_equal(a.data, b.data)
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    (h * h).sum().backward(intermediate_grads=False)
    assert h.grad is None and x.grad.data.tolist() == [18.0, 36.0]  # d/dx 9x² = 18x


def test_measure_and_table():
    calls = []
    t = measure({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, number=3, repeat=2, warmup=1)
    assert set(t) == {"a", "b"} and all(v >= 0 for v in t.values())
    assert calls.count("a") == calls.count("b") == 9
    res = Results([Row("bench", "ours", 0.0021, ratio=1.1, ratio_of="NumPy", target="<= 1.15", met=True),
                   Row("bench", "mem", 3 * 1024 * 1024, unit="B"), Row("bench", "skipped one", None)],
                  notes=["a note"])
    table = format_table(res)
    assert "2.10 ms" in table and "1.10 vs NumPy" in table and "3.00 MiB" in table and "yes" in table
    assert table.splitlines()[-1] == "- a note"


def test_run_all_quick_without_torch_prints_a_table(capsys, tmp_path):
    out = tmp_path / "bench.md"
    assert run.main(["--quick", "--no-torch", "--only", "tiny_ops", "reference", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| benchmark" in printed and "tiny-op chain" in printed and "torch not used" in printed
    assert out.read_text().strip() == printed.strip()


# --- docs/performance.md says what the benchmarks measure ------------------------------------------

def _table_rows(text: str):
    """[[benchmark, variant, median, ratio, target, met]] of a table printed by ``python -m benchmarks``."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| benchmark")]
    assert rows and all(len(r) == 6 for r in rows)
    return rows


def _doc_run_table():
    """The text of docs/performance.md and the rows of its run of record."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "performance.md").read_text(encoding="utf-8")
    return doc, _table_rows(doc.split("## The run of record", 1)[1].split("How to read it", 1)[0])


def _kind(benchmark: str) -> str:
    """'MLP step 784-256-10, b=128' -> 'MLP step': the benchmark without its sizes."""
    return re.split(r"[\d,(]", benchmark, maxsplit=1)[0].strip()


def _variant(v: str) -> str:
    """The variant without the numbers its note carries (per-epoch time, live Tensor count)."""
    return re.sub(r"\s*\((\d+ us/epoch|live Tensors [+-]\d+|no PyTorch to compare)\)", "", v)


def test_performance_doc_has_the_rows_and_targets_the_benchmarks_produce():
    """Every row a run without torch produces (small sizes here) is in the doc's table of record, with
    the same target; the doc's PyTorch rows are the only extra ones; its 'met' column follows from its
    own numbers; the targets summary quotes the table's ratios."""
    doc, rows = _doc_run_table()
    small = mlp.Problem(batch=4, sizes=SMALL)
    res = Results()
    res.extend(mlp.run(number=1, repeat=1, warmup=0, problem=small, use_torch=False))
    res.extend(tiny_ops.run(number=1, repeat=1, warmup=0, use_torch=False))
    res.extend(reference.run(repeat=1, warmup=0, epochs=2))
    res.extend(memory.run(growth_steps=2, problem=small))
    produced = {(_kind(b), _variant(v)): target for b, v, _, _, target, _ in _table_rows(format_table(res))}
    in_doc = {(_kind(b), _variant(v)): target for b, v, _, _, target, _ in rows}
    assert len(in_doc) == len(rows) and len(produced) == len(res.rows)
    extra = set(in_doc) - set(produced)
    assert set(produced) <= set(in_doc), sorted(set(produced) - set(in_doc))
    assert extra and all("PyTorch" in v for _, v in extra), sorted(extra)
    for key, target in produced.items():
        if key[0] == "reference program":  # scaled to the epochs run: the doc's run is 100 epochs
            assert in_doc[key] == f"< {reference.TARGET_SECONDS * 1e3:g} ms" and target == "< 1 ms"
        elif key == ("tiny-op chain", "ours fwd+bwd"):  # its target is a ratio to PyTorch, absent here
            assert in_doc[key] == f"<= {tiny_ops.TARGET}" and target == ""
        else:
            assert in_doc[key] == target, key
    for b, v, median, ratio, target, met in rows:  # the met column agrees with the numbers shown
        if target.startswith("<= "):
            x, t = float(ratio.split()[0]), float(target[3:])
            if abs(x - t) >= 0.01:
                assert met == ("yes" if x <= t else "NO"), (b, v)
        elif target.startswith("< ") and target.endswith(" ms"):
            assert median.endswith(" ms") and met == ("yes" if float(median[:-3]) < float(target[2:-3]) else "NO")
    summary = doc.split("## Targets", 1)[1].split("###", 1)[0]
    shown = set(re.findall(r"\d+\.\d+", " ".join(" ".join(r[2:4]) for r in rows)))  # medians and ratios
    quoted = re.findall(r"\b(\d\.\d\d)x?\b", summary)  # ratios and MiB quoted in the summary
    assert len(quoted) >= 6 and set(quoted) <= shown | {"1.15"}, sorted(set(quoted) - shown)
    assert ("**missed**" in summary.split("MLP step, ours / NumPy")[1].splitlines()[0]) == any(
        r[5] == "NO" for r in rows if r[0].startswith("MLP step 784"))
