"""Run one expectation suite against a model in the DuckDB warehouse.

Route (measured in bench/results.md, summarized in expectations/README.md): GX's
SQL datasource cannot run on DuckDB in GX 1.24 (every metric fails: GX fetches
results after returning the connection to the pool, and duckdb-engine's cursor
is gone by then), so the suite runs on pandas dataframes that DuckDB streams out
of a short read-only connection:

- only the columns the suite names are read;
- row-level expectations (not null, regex, in set, ...) run batch by batch
  (`batch_rows` rows at a time) and their counts are added up;
- whole-column expectations (unique, compound unique, ...) run once on the
  whole projected column(s);
- the row count comes from SQL and is compared with the previous passing run;
- `sql_checks` (rows that must not exist) run as SQL inside DuckDB.

The connection is opened after dbt has exited (checks are steps after the dbt
step) and closed before returning.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestration.quality.suites import Suite

DEFAULT_BATCH_ROWS = 250_000
SAMPLE_SIZE = 5


@dataclass
class ItemResult:
    """One expectation or SQL check, as shown in the check's metadata."""

    name: str
    success: bool
    unexpected_count: int | None = None
    element_count: int | None = None
    observed: Any = None
    sample: list[Any] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"success": self.success}
        for key in ("unexpected_count", "element_count", "observed", "error"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.sample:
            out["sample"] = [str(v) for v in self.sample[:SAMPLE_SIZE]]
        return out


@dataclass
class SuiteOutcome:
    model: str
    relation: str
    row_count: int
    previous_row_count: int | None
    results: dict[str, ItemResult]
    batches: int
    docs_path: str | None = None

    @property
    def passed(self) -> bool:
        return all(r.success for r in self.results.values())

    @property
    def failures(self) -> list[str]:
        return [name for name, r in self.results.items() if not r.success]


class ModelMissingError(RuntimeError):
    """The model's relation is not in the warehouse (not built yet)."""


def _gx_context(docs_dir: Path | None):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # In-memory stores and no temporary docs site: our site is added below.
    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False))
    ctx = gx.get_context(mode="ephemeral", project_config=config)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        ctx.add_data_docs_site(
            site_name="segue",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return gx, ctx


def _camel(type_name: str) -> str:
    return "".join(part.capitalize() for part in type_name.split("_"))


def build_expectation(gx, exp):
    cls = getattr(gx.expectations, _camel(exp.type), None)
    if cls is None:
        raise ValueError(f"Great Expectations {gx.__version__} has no expectation {exp.type!r}")
    return cls(**exp.kwargs)


def _label(exp) -> str:
    cols = ",".join(exp.columns)
    return f"{exp.type}({cols})" if cols else exp.type


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _relation_exists(con, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0]
    return bool(row and row[0])


def _render_sql(query: str, relation: str, as_of: datetime) -> str:
    return query.replace("{model}", relation).replace("{as_of}", f"timestamp '{as_of:%Y-%m-%d %H:%M:%S}'")


def run_suite(
    suite: Suite,
    warehouse: str | Path,
    schema: str,
    previous_row_count: int | None,
    as_of: datetime,
    docs_dir: Path | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> SuiteOutcome:
    """Validate `suite` against `<schema>.<suite.model>` in the warehouse; never raises on a failed expectation."""
    import duckdb

    relation = f"{_quote(schema)}.{_quote(suite.model)}"
    results: dict[str, ItemResult] = {}
    row_level = [e for e in suite.expectations if e.row_level]
    whole = [e for e in suite.expectations if not e.row_level]
    gx, ctx = _gx_context(docs_dir) if suite.expectations else (None, None)

    con = duckdb.connect(str(warehouse), read_only=True)
    batches = 0
    try:
        if not _relation_exists(con, schema, suite.model):
            raise ModelMissingError(f"{schema}.{suite.model} is not in the warehouse {warehouse}; build it first")
        # fetchall, not fetchone: DuckDB 2 refuses the relation API below while a result is unfinished.
        row_count = con.execute(f"select count(*) from {relation}").fetchall()[0][0]

        if suite.row_count_change is not None:
            results["row_count_change"] = _row_count_change(suite, row_count, previous_row_count)

        if suite.expectations:
            runner = _GxRunner(gx, ctx, suite, docs_dir is not None)
            if whole:
                cols = sorted({c for e in whole for c in e.columns}) or None
                frame = _select(con, relation, cols).df()
                runner.validate("whole", whole, frame, results)
            if row_level:
                cols = sorted({c for e in row_level for c in e.columns})
                projection = ", ".join(_quote(c) for c in cols)
                reader = con.sql(f"select {projection} from {relation}").to_arrow_reader(batch_rows)
                for record_batch in reader:
                    if record_batch.num_rows == 0:
                        continue
                    batches += 1
                    runner.validate(f"batch{batches}", row_level, record_batch.to_pandas(), results)
                if batches == 0:  # an empty table: every row-level expectation holds vacuously
                    for exp in row_level:
                        results.setdefault(_label(exp), ItemResult(_label(exp), True, 0, 0))

        for check in suite.sql_checks:
            sql = _render_sql(check.query, relation, as_of)
            try:
                cur = con.execute(f"select count(*) over () as _n, * from ({sql}) as unexpected limit {SAMPLE_SIZE}")
                rows = cur.fetchall()
                names = [d[0] for d in cur.description][1:]
                count = rows[0][0] if rows else 0
                sample = [dict(zip(names, row[1:], strict=True)) for row in rows]
                results[f"sql:{check.name}"] = ItemResult(check.name, count == 0, unexpected_count=count, sample=sample)
            except duckdb.Error as exc:
                results[f"sql:{check.name}"] = ItemResult(check.name, False, error=f"{type(exc).__name__}: {exc}")
    finally:
        con.close()

    docs = None
    if ctx is not None and docs_dir is not None:
        with contextlib.suppress(Exception):
            ctx.build_data_docs(site_names=["segue"])
        index = docs_dir / "index.html"
        docs = str(index) if index.exists() else None
    return SuiteOutcome(suite.model, f"{schema}.{suite.model}", row_count, previous_row_count, results, batches, docs)


def _select(con, relation: str, columns: list[str] | None):
    cols = ", ".join(_quote(c) for c in columns) if columns else "*"
    return con.execute(f"select {cols} from {relation}")


def _row_count_change(suite: Suite, row_count: int, previous: int | None) -> ItemResult:
    rcc = suite.row_count_change
    assert rcc is not None
    if previous is None:
        return ItemResult("row_count_change", True, observed={"rows": row_count, "previous": None, "note": "first run"})
    low = int(previous * (1 - rcc.max_drop))
    high = int(previous * (1 + rcc.max_growth)) if previous else None
    ok = row_count >= low and (high is None or row_count <= high)
    change = None if previous == 0 else round((row_count - previous) / previous, 4)
    return ItemResult(
        "row_count_change",
        ok,
        observed={"rows": row_count, "previous": previous, "change": change, "allowed": [low, high]},
    )


class _GxRunner:
    """Runs GX validations on dataframes and folds batch results into one result per expectation."""

    def __init__(self, gx, ctx, suite: Suite, with_docs: bool):
        self.gx, self.ctx, self.suite, self.with_docs = gx, ctx, suite, with_docs
        self.batch_definition = (
            ctx.data_sources.add_pandas("warehouse")
            .add_dataframe_asset(suite.model)
            .add_batch_definition_whole_dataframe("batch")
        )
        self.n = 0

    def validate(self, part: str, expectations, frame, results: dict[str, ItemResult]) -> None:
        gx = self.gx
        self.n += 1
        gx_suite = self.ctx.suites.add(gx.ExpectationSuite(name=f"{self.suite.model}.{part}"))
        labels = {}
        for exp in expectations:
            label = _label(exp)
            try:
                gx_suite.add_expectation(build_expectation(gx, exp))
                labels[len(labels)] = label
            except Exception as exc:  # a bad argument names the suite file and the expectation
                results[label] = ItemResult(label, False, error=f"{self.suite.path.name}: {exc}")
        if not labels:
            return
        if self.with_docs:
            vd = self.ctx.validation_definitions.add(
                gx.ValidationDefinition(name=f"{self.suite.model}.{part}", data=self.batch_definition, suite=gx_suite)
            )
            checkpoint = self.ctx.checkpoints.add(
                gx.Checkpoint(
                    name=f"{self.suite.model}.{part}",
                    validation_definitions=[vd],
                    actions=[],
                    result_format="SUMMARY",
                )
            )
            run = checkpoint.run(batch_parameters={"dataframe": frame})
            (validation,) = run.run_results.values()
        else:
            batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
            validation = batch.validate(gx_suite, result_format="SUMMARY")
        for i, res in enumerate(validation.results):
            label = labels[i]
            r = res.result or {}
            error = None
            if res.exception_info and res.exception_info.get("raised_exception"):
                error = res.exception_info.get("exception_message")
            merged = results.get(label)
            unexpected = r.get("unexpected_count")
            elements = r.get("element_count")
            sample = list(r.get("partial_unexpected_list") or [])
            if merged is None:
                results[label] = ItemResult(
                    label, bool(res.success), unexpected, elements, r.get("observed_value"), sample, error
                )
            else:
                merged.success = merged.success and bool(res.success)
                if unexpected is not None:
                    merged.unexpected_count = (merged.unexpected_count or 0) + unexpected
                if elements is not None:
                    merged.element_count = (merged.element_count or 0) + elements
                merged.sample = (merged.sample + sample)[:SAMPLE_SIZE]
                merged.error = merged.error or error
