"""Smoke tests for benchmarks/: every benchmark runs (tiny repeat counts) and fills its table rows,
and the MLP step written four ways computes the same numbers. No timing is asserted anywhere:
timings on a shared machine are noise, only ``python -m benchmarks`` reports them.
torch is never loaded here (``use_torch=False``): it is an optional benchmark-only comparison.
"""
from __future__ import annotations

import gc
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import hvp, memory, mlp, reference, run, scaling, tiny_ops, viz_bench  # noqa: E402
from benchmarks.timing import Results, Row, format_table, measure  # noqa: E402

import tinygrad_loss as tg  # noqa: E402
from tinygrad_loss import Tensor  # noqa: E402

SMALL = (12, 8, 5)  # a shrunken MLP: same code paths, milliseconds to run


def _rows(res: Results, bench_prefix: str):
    return [r for r in res.rows if r.benchmark.startswith(bench_prefix)]


def _softmax_ce_reference(params, x, onehot):
    """Loss and gradients of the ReLU MLP with kernels/biases ``params`` = [w1, b1, w2, b2, ...], written
    independently (float64, the textbook formulas: forward keeping every activation, then the chain rule)."""
    x, onehot = np.asarray(x, np.float64), np.asarray(onehot, np.float64)
    ws = [np.asarray(w, np.float64) for w in params[0::2]]
    bs = [np.asarray(b, np.float64) for b in params[1::2]]
    acts, pres = [x], []
    for i, (w, b) in enumerate(zip(ws, bs)):
        pres.append(acts[-1] @ w + b)
        acts.append(np.where(pres[-1] > 0, pres[-1], 0.0) if i < len(ws) - 1 else pres[-1])
    z = acts[-1]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = len(x)
    loss = -np.mean(np.sum(onehot * np.log(p), axis=1))
    delta = (p - onehot) / n
    grads = []
    for i in reversed(range(len(ws))):
        grads = [acts[i].T @ delta, delta.sum(0)] + grads
        if i:
            delta = (delta @ ws[i].T) * (pres[i - 1] > 0)
    return loss, grads


NETWORK_IDS = ["-".join(map(str, n.sizes)) for n in mlp.NETWORKS]


def test_benchmarked_networks_are_the_issues():
    assert [(n.sizes, n.batch, n.target) for n in mlp.NETWORKS] == [
        ((784, 256, 10), 128, 1.15), ((784, 64, 64, 10), 32, 1.5), ((784, 256, 256, 10), 128, 1.08)]


@pytest.mark.parametrize("sizes,batch", [(SMALL, 6), ((7, 5, 4, 3), 6)] + [(n.sizes, n.batch) for n in mlp.NETWORKS],
                         ids=["small", "small-deep"] + NETWORK_IDS)
def test_numpy_and_ours_mlp_steps_compute_the_same_numbers(sizes, batch):
    problem = mlp.Problem(seed=3, batch=batch, sizes=sizes)
    assert len(problem.params) == 2 * (len(sizes) - 1)
    loss_ref, grads_ref = _softmax_ce_reference(problem.params, problem.x, problem.onehot)
    expected = [p.astype(np.float64) - mlp.LR * g for p, g in zip(problem.params, grads_ref)]

    np_step, np_params = mlp.make_numpy(problem)
    ops_step, ops_params = mlp.make_ops(problem)
    assert np_step() == pytest.approx(loss_ref, rel=1e-5)
    assert ops_step() == pytest.approx(loss_ref, rel=1e-5)
    for got_np, got_ops, want in zip(np_params, [p.data for p in ops_params], expected):
        assert got_np.dtype == np.float32 and got_ops.dtype == np.float32
        np.testing.assert_allclose(got_np, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_ops, want, rtol=1e-5, atol=1e-6)
    # every parameter really moved (a step that changed nothing would pass the above only if lr=0)
    for got_np, start in zip(np_params, problem.params):
        assert not np.allclose(got_np, start, rtol=0, atol=1e-9)
    # and a second step keeps them together
    np_step(), ops_step()
    for got_np, got_ops in zip(np_params, ops_params):
        np.testing.assert_allclose(got_ops.data, got_np, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("network", mlp.NETWORKS, ids=NETWORK_IDS)
def test_layers_version_of_the_mlp_step_matches_numpy(network):
    why = mlp.nn_available()
    if why is not None:
        pytest.skip(why)
    problem = mlp.Problem(seed=4, batch=network.batch, sizes=network.sizes)
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
    rows = {r.variant: r for r in res.rows}
    assert sorted(rows) == ["NumPy fwd", "NumPy fwd+bwd", "ours fwd", "ours fwd+bwd"]
    for kind in ("fwd", "fwd+bwd"):  # every row is a ratio to the floor of its own kind
        floor = rows[f"NumPy {kind}"].value
        for who in ("ours", "NumPy"):
            r = rows[f"{who} {kind}"]
            assert r.value > 0 and r.ratio == pytest.approx(r.value / floor) and r.ratio_of == f"NumPy {kind}"
            assert r.other is not None and r.other > 0 and r.vs_torch is None
    target = rows["ours fwd+bwd"]
    assert target.target == f"<= {tiny_ops.TARGET}" and target.met == (target.ratio <= tiny_ops.TARGET)
    assert [r.target for r in res.rows if r is not target] == [""] * 3
    assert any("PyTorch rows skipped" in n for n in res.notes)


def test_hand_written_numpy_floors_compute_the_engines_gradients():
    """The floors are only floors if they do the same work: the same value and gradients as ours."""
    xv, wv = (v.astype(np.float64) for v in tiny_ops.inputs())
    for value_and_grads, fn in ((lambda: tiny_ops.chain_numpy_grad(xv, wv), lambda x, w: tiny_ops.chain(x, w)),
                                (lambda: scaling.chain_numpy_grad(xv, wv, 30), lambda x, w: scaling.chain(x, w, 30))):
        x, w = Tensor(xv, requires_grad=True), Tensor(wv, requires_grad=True)
        out = fn(x, w)
        out.backward()
        value, gx, gw = value_and_grads()
        assert value == pytest.approx(out.item(), rel=1e-12)
        np.testing.assert_allclose(gx, x.grad.data, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(gw, w.grad.data, rtol=1e-10, atol=1e-14)


def test_scaling_benchmark_rows_and_memory_per_op():
    res = scaling.run(sizes=(10, 100), use_torch=False)
    times = [r for r in res.rows if r.benchmark.startswith("chain fwd+bwd")]
    assert [(r.benchmark, r.variant) for r in times] == [("chain fwd+bwd per op, N=10", "ours"),
                                                         ("chain fwd+bwd per op, N=10", "NumPy by hand"),
                                                         ("chain fwd+bwd per op, N=100", "ours"),
                                                         ("chain fwd+bwd per op, N=100", "NumPy by hand")]
    mem = [r for r in res.rows if r.benchmark.startswith("chain memory")]
    # N=100: keeping every intermediate .grad costs about an array per op (some ops share one), and no
    # Tensor (112 bytes more) until a .grad is read
    kept, lean = mem[2], mem[3]
    assert 60 < kept.value - lean.value < 150 and lean.met == (lean.value <= scaling.TARGET_BYTES)


def test_growth_ratios_are_interleaved_per_round_and_leave_the_collector_as_found(monkeypatch):
    sizes_seen = []
    real = scaling._once

    def once(fn):
        sizes_seen.append(fn)
        return real(fn)

    monkeypatch.setattr(scaling, "_once", once)
    ratios = scaling.growth(small=10, big=30, rounds=2, runs=3)
    assert list(ratios) == ["ours", "ours, collector paused during the forward", "NumPy by hand"]
    assert all(r > 0 and r.other > 0 for r in ratios.values())
    # per contender and round: 3 short runs, the long one, 3 short runs
    assert len(sizes_seen) == 3 * 2 * 7
    first = sizes_seen[:7]
    assert first[0] is first[2] is first[4] is first[6] and first[3] is not first[0]
    assert gc.isenabled() and not gc.get_freeze_count()


def test_pausing_the_collector_during_the_forward_restores_it_also_on_error(monkeypatch):
    step = scaling._ours_step(10, pause_collector=True)
    step()
    assert gc.isenabled()

    def boom(*args):
        assert not gc.isenabled()  # paused while the chain is built
        raise RuntimeError("boom")

    monkeypatch.setattr(scaling, "chain", boom)
    with pytest.raises(RuntimeError, match="boom"):
        step()
    assert gc.isenabled()


def test_reference_trainers_alternate_their_order_and_the_ratio_is_taken_within_rounds():
    calls = []

    def trainer(name):
        def train(model, epochs):
            calls.append(name)
        return train

    medians, rounds = reference.time_trainers({"a": trainer("a"), "b": trainer("b")}, repeat=4, warmup=1,
                                              make=lambda: None)
    assert calls == ["a", "b"] + ["a", "b", "b", "a", "a", "b", "b", "a"]  # warm-up, then reversed every other round
    assert len(rounds["a"]) == len(rounds["b"]) == 4 and set(medians) == {"a", "b"}
    # the median of the rounds' ratios, not the ratio of the medians (2.0 here against 3 / 1.5)
    assert reference.paired_ratio([1.0, 4.0, 3.0], [1.0, 2.0, 1.0]) == 2.0


def test_bytes_per_op_counts_what_the_graph_holds():
    held_small, _ = scaling.bytes_per_op(100, intermediate_grads=False)
    held_big, peak = scaling.bytes_per_op(2_000, intermediate_grads=False)
    # a node is at least a Tensor, an array and a parents tuple; the fixed costs fade as N grows
    assert 150 < held_big < held_small and peak >= held_big


def test_hvp_benchmark_computes_the_hessian_vector_product():
    params, x, y, v = hvp.problem()
    hv = hvp.make_ours()()
    eps = 1e-6  # central differences of the gradient along v, by an independent NumPy backprop

    def grads(ps):
        w1, b1, w2, b2, w3, b3 = ps
        h1 = np.tanh(x @ w1 + b1)
        h2 = np.tanh(h1 @ w2 + b2)
        d3 = 2 * (h2 @ w3 + b3 - y) / y.size
        d2 = (d3 @ w3.T) * (1 - h2 ** 2)
        d1 = (d2 @ w2.T) * (1 - h1 ** 2)
        return [x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0)]

    up = grads([p + eps * u for p, u in zip(params, v)])
    down = grads([p - eps * u for p, u in zip(params, v)])
    for h, a, b in zip(hv, up, down):
        np.testing.assert_allclose(h, (a - b) / (2 * eps), rtol=1e-5, atol=1e-8)
    (row,) = hvp.run(number=1, repeat=1, warmup=0, use_torch=False).rows
    assert row.value > 0 and row.vs_torch is None and row.met is None


def test_reference_benchmark_runs_or_says_why_not():
    res = reference.run(repeat=1, warmup=0, epochs=5)
    if reference.available() is not None:
        assert res.rows[0].value is None and any("skipped" in n for n in res.notes)
        return
    fit_row, ratio_row = res.rows
    assert fit_row.value > 0 and fit_row.met == (fit_row.value < 0.0025)
    assert fit_row.target == "< 2.5 ms"  # 50 ms per 100 epochs, scaled (not rounded to "< 2 ms")
    assert ratio_row.unit == "x" and ratio_row.met == (ratio_row.value <= reference.FIT_TARGET)


def test_explicit_loop_trains_exactly_like_fit():
    a, b = reference.build(), reference.build()
    for p, q in zip(a.parameters(), b.parameters()):
        q.data[...] = p.data
    history = reference.fit(a, 7)
    loss = reference.explicit_loop(b, 7)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert loss.item() == pytest.approx(history.history["loss"][-1], rel=1e-6)


def test_memory_benchmark_measures_peaks_and_growth():
    problem = mlp.Problem(batch=8, sizes=SMALL)
    res = memory.run(growth_steps=5, problem=problem)
    peaks = {r.variant: r for r in _rows(res, "MLP step peak memory")}
    numpy_peak = peaks["NumPy (hand-written)"].value
    assert numpy_peak > 0
    ours = peaks["ours (Tensor ops)"]
    assert ours.ratio == pytest.approx(ours.value / numpy_peak) and ours.met == (ours.ratio <= memory.TARGET)
    # the opt-out keeps no intermediate gradient, so it holds less at its peak
    assert peaks["ours (Tensor ops), leaf grads only"].value < ours.value
    (growth,) = _rows(res, "MLP growth")
    assert growth.met is True and "live Tensors +0" in growth.note


def test_growth_sees_a_leak():
    kept = []

    def leaky_step():
        x = Tensor(np.ones(1000), requires_grad=True)
        kept.append((x * 2.0).sum())

    g = memory.growth(leaky_step, steps=5, warmup=1)
    assert g["tensors"] >= 5 * 3 and g["bytes"] >= 5 * 8000


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
    """[[benchmark, variant, median, other clock, ratio, vs PyTorch, target, met]] of a table printed by
    ``python -m benchmarks``."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| benchmark")]
    assert rows and all(len(r) == 8 for r in rows)
    return rows


def _doc_run_table():
    """The text of docs/performance.md and the rows of its run of record."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "performance.md").read_text(encoding="utf-8")
    return doc, _table_rows(doc.split("## The run of record", 1)[1].split("How to read it", 1)[0])


def _kind(benchmark: str) -> str:
    """'tiny-op chain, 20 ops on (4,)' -> 'tiny-op chain': the benchmark without its sizes; an MLP step row
    keeps its network ('MLP step 784-64-64-10, b=32'): each network has its own target."""
    if re.match(r"MLP step \d", benchmark):
        return benchmark
    return re.split(r"[\d,(]", benchmark, maxsplit=1)[0].strip()


def _variant(v: str) -> str:
    """The variant without the numbers its note carries (per-epoch time, live Tensor count)."""
    return re.sub(r"\s*\((\d+ us/epoch|live Tensors [+-]\d+|peak \d+ B/op|loop [\d.]+ ms|other clock [\d.]+x|\d+ tensors)\)",
                  "", v)


def _measured(median: str, ratio: str, vs_torch: str, target: str) -> float:
    """The number a row's target is about: its median ("1.61x", "422 B/op"), else its ratio to the floor,
    else its ratio to PyTorch."""
    if median.endswith("x") or target.endswith("B/op"):
        return float(median.split()[0].rstrip("x"))
    if target.endswith(" s"):  # a time against a time: the median in seconds
        value, unit = median.split()
        return float(value) * {"s": 1.0, "ms": 1e-3, "us": 1e-6}[unit]
    return float((ratio if ratio != "-" else vs_torch).split()[0])


def test_performance_doc_has_the_rows_and_targets_the_benchmarks_produce():
    """Every row a run without torch produces (small sizes here) is in the doc's table of record, with
    the same target; the doc's extra rows are PyTorch's and larger scaling sizes; its 'met' column
    follows from its own numbers; the targets summary quotes the table's numbers."""
    doc, rows = _doc_run_table()
    small = mlp.Problem(batch=4, sizes=SMALL)
    res = Results()
    res.extend(mlp.run(number=1, repeat=1, warmup=0, use_torch=False))  # every network, at its own size
    res.extend(tiny_ops.run(number=1, repeat=1, warmup=0, use_torch=False))
    res.extend(hvp.run(number=1, repeat=1, warmup=0, use_torch=False))
    res.extend(reference.run(repeat=1, warmup=0, epochs=2))
    res.extend(memory.run(growth_steps=2, problem=small))
    res.extend(scaling.run((10, 100), use_torch=False))
    res.extend(viz_bench.run(rounds=1))
    produced = {(_kind(r[0]), _variant(r[1])): r[6] for r in _table_rows(format_table(res))}
    in_doc = {(_kind(r[0]), _variant(r[1])): r[6] for r in rows}
    assert set(produced) <= set(in_doc), sorted(set(produced) - set(in_doc))
    extra = set(in_doc) - set(produced)  # PyTorch's rows, and the flatness row (needs N = 1k and 100k)
    assert {v.split(" (")[0] for k, v in extra if k != "chain per-op time"} == {
        "PyTorch", "PyTorch fwd", "PyTorch fwd+bwd", "PyTorch CPU eager"}
    assert ("chain per-op time", "ours") in extra
    for key, target in produced.items():
        if key[0] == "reference program" and target.startswith("< "):  # scaled to the epochs run (doc: 100)
            assert in_doc[key] == f"< {reference.TARGET_SECONDS * 1e3:g} ms" and target == "< 1 ms"
        else:
            assert in_doc[key] == target, key
    for b, v, median, _, ratio, vs_torch, target, met in rows:  # the met column agrees with the numbers shown
        if target.startswith("<= "):
            x, t = _measured(median, ratio, vs_torch, target), float(target[3:].split()[0])
            if abs(x - t) >= 0.01 * t:
                assert met == ("yes" if x <= t else "NO"), (b, v)
        elif target.startswith("< ") and target.endswith(" ms"):
            assert median.endswith(" ms") and met == ("yes" if float(median[:-3]) < float(target[2:-3]) else "NO")
    summary = doc.split("## Targets", 1)[1].split("###", 1)[0]
    shown = set(re.findall(r"\d+\.\d+", " ".join(" ".join(r[2:7]) for r in rows)))  # medians, ratios, targets
    quoted = re.findall(r"\b(\d\.\d\d)x?\b", summary)  # ratios quoted in the summary
    assert len(quoted) >= 6 and set(quoted) <= shown, sorted(set(quoted) - shown)
    for label, bench in (("MLP step, ours / NumPy", "MLP step 784-256-10,"),  # each network's status row
                         ("MLP step 784-64-64-10", "MLP step 784-64-64-10,"),
                         ("MLP step 784-256-256-10", "MLP step 784-256-256-10,")):
        status = summary.split(label)[1].splitlines()[0].rsplit("|", 2)[-2]
        assert ("**missed**" in status or "**not robustly met**" in status) == any(
            r[7] == "NO" for r in rows if r[0].startswith(bench)), label
