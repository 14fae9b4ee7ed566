"""Expectation suites kept as YAML files in `expectations/`, one per dbt model (file stem = model name).

A suite file holds:

    description: what the suite guards (shown on the Dagster check)
    blocking: true | false | auto     # auto (default): blocking when a `syncs` asset is downstream
    row_count_change:                 # against the last run whose suite passed (kept in Dagster)
      max_drop: 0.5                   # fail when rows fell by more than 50%
      max_growth: 3.0                 # fail when rows grew by more than 300%
    expectations:                     # Great Expectations 1.x expectation types and their arguments
      - expect_column_values_to_be_unique: {column: customer_id}
    sql_checks:                       # rows that must not exist, as SQL on the warehouse
      - name: send_without_consent
        description: ...
        query: select ... from {model} ...   # {model} = the model's relation, {as_of} = the as-of instant

Loading needs no Great Expectations import (it costs seconds): types are checked
by name here and turned into GX objects when a check runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "expectations"

# Expectations that judge each row on its own: they are validated batch by batch
# and their counts added up. Every other expectation needs the whole column(s).
ROW_LEVEL_TYPES = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_match_like_pattern",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_multicolumn_sum_to_equal",
        "expect_select_column_values_to_be_unique_within_record",
    }
)

_TYPE_NAME = re.compile(r"^(expect_[a-z0-9_]+|unexpected_rows_expectation)$")
_SQL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Expectation:
    type: str
    kwargs: dict[str, Any]

    @property
    def row_level(self) -> bool:
        return self.type in ROW_LEVEL_TYPES

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for name in ("column", "column_A", "column_B"):
            if name in self.kwargs:
                cols.append(self.kwargs[name])
        cols += list(self.kwargs.get("column_list", []))
        return cols


@dataclass(frozen=True)
class SqlCheck:
    name: str
    query: str
    description: str = ""


@dataclass(frozen=True)
class RowCountChange:
    max_drop: float = 0.5
    max_growth: float = 3.0


@dataclass(frozen=True)
class Suite:
    model: str
    path: Path
    description: str = ""
    blocking: str = "auto"  # "auto", "true" or "false"
    expectations: list[Expectation] = field(default_factory=list)
    sql_checks: list[SqlCheck] = field(default_factory=list)
    row_count_change: RowCountChange | None = None

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for exp in self.expectations:
            for col in exp.columns:
                seen.setdefault(col, None)
        return list(seen)


def _fail(path: Path, where: str, message: str) -> SuiteError:
    return SuiteError(f"{path.name}: {where}: {message}")


def load_suite(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(path, "top level", "must be a mapping")
    known = {"description", "blocking", "row_count_change", "expectations", "sql_checks"}
    unknown = set(data) - known
    if unknown:
        raise _fail(path, "top level", f"unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}")

    blocking = str(data.get("blocking", "auto")).lower()
    if blocking not in {"auto", "true", "false"}:
        raise _fail(path, "blocking", f"must be true, false or auto, not {data.get('blocking')!r}")

    expectations = []
    for i, item in enumerate(data.get("expectations") or []):
        where = f"expectations[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise _fail(path, where, "each item is a one-key mapping: {expectation_type: {arguments}}")
        ((etype, kwargs),) = item.items()
        if not _TYPE_NAME.match(str(etype)):
            raise _fail(path, where, f"{etype!r} is not a Great Expectations expectation type name")
        if kwargs is not None and not isinstance(kwargs, dict):
            raise _fail(path, f"{where}.{etype}", "arguments must be a mapping")
        expectations.append(Expectation(type=str(etype), kwargs=dict(kwargs or {})))

    sql_checks = []
    for i, item in enumerate(data.get("sql_checks") or []):
        where = f"sql_checks[{i}]"
        if not isinstance(item, dict) or not item.get("name") or not item.get("query"):
            raise _fail(path, where, "needs `name` and `query`")
        if not _SQL_NAME.match(str(item["name"])):
            raise _fail(path, f"{where}.name", f"{item['name']!r} must be snake_case")
        if "{model}" not in item["query"]:
            raise _fail(path, f"{where}.query", "must read the model through the {model} placeholder")
        sql_checks.append(SqlCheck(name=item["name"], query=item["query"], description=item.get("description", "")))

    rcc = None
    if data.get("row_count_change") is not None:
        raw = data["row_count_change"]
        if not isinstance(raw, dict) or set(raw) - {"max_drop", "max_growth"}:
            raise _fail(path, "row_count_change", "allowed keys: max_drop, max_growth")
        try:
            rcc = RowCountChange(**{k: float(v) for k, v in raw.items()})
        except (TypeError, ValueError) as exc:
            raise _fail(path, "row_count_change", f"values must be numbers ({exc})") from exc
        if not 0 <= rcc.max_drop <= 1 or rcc.max_growth < 0:
            raise _fail(path, "row_count_change", "max_drop is a fraction in [0, 1], max_growth >= 0")

    if not expectations and not sql_checks and rcc is None:
        raise _fail(path, "top level", "a suite needs expectations, sql_checks or row_count_change")
    return Suite(
        model=path.stem,
        path=path,
        description=str(data.get("description", "")).strip(),
        blocking=blocking,
        expectations=expectations,
        sql_checks=sql_checks,
        row_count_change=rcc,
    )


def load_suites(directory: Path | None = None) -> dict[str, Suite]:
    """Every `<model>.yml` in the expectations folder, by model name."""
    directory = directory or EXPECTATIONS_DIR
    suites = {}
    for path in sorted(directory.glob("*.yml")):
        suite = load_suite(path)
        suites[suite.model] = suite
    return suites
