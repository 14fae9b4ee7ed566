"""Add a row to the main table of bench/results.md (the `| date | benchmark | ...` one), whatever follows it."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADER = "| date | benchmark |"


def append_rows(rows: list[str], path: Path = RESULTS) -> None:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(HEADER))
    end = start
    while end + 1 < len(lines) and lines[end + 1].startswith("|"):
        end += 1
    lines[end + 1 : end + 1] = rows
    path.write_text("\n".join(lines) + "\n")
