"""A few seconds of bench/bench_personalization.py: the store, the served CLI and the load generator agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_personalization.py"


def test_the_personalization_bench_runs_and_every_answer_is_right(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_personalization", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = tmp_path / "results.md"
    summary = bench.run(profiles=300, rate=100, seconds=1.5, connections=4, results=results)
    assert summary["wrong_count"] == 0, summary["wrong"]
    assert summary["requests"] == 150 and summary["achieved_rate"] > 50
    assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert summary["cpu_ms_per_request"] > 0
    bench.append_row(results, "| 2099-01-01 | personalization API | the next row |\n")
    text = results.read_text()
    assert text.count(bench.SECTION) == 1, "one section, created once"
    rows = [line for line in text.splitlines() if line.startswith("| 20")]
    assert len(rows) == 2 and "personalization API | 300 profiles, 100 req/s" in rows[0] and "load average" in rows[0]
    assert text.rstrip().endswith(rows[1]), "rows go at the end of the benchmark's own table"
    assert "p99" in capsys.readouterr().out
