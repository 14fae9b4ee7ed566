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
    row = results.read_text()
    assert row.startswith("| ") and "personalization API | 300 profiles, 100 req/s" in row and "load average" in row
    assert "p99" in capsys.readouterr().out
