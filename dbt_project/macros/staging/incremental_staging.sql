{#-
    Incremental staging (README.md, "Incremental builds").

    The big append-only staging tables (stg_segment__events,
    stg_esp__message_events) are dbt incremental models when dbt var
    staging_incremental is true: a run cleans and stages only the raw rows
    whose key is not staged yet (unstaged_raw_rows, the raw rows the base
    view's macro reads, macros/staging/base/), and first deletes staged rows that the
    current as_of no longer accepts (prune_out_of_window, a pre-hook), so a
    build at an earlier as_of never keeps "future" rows (within_as_of_window
    keeps a stale base view from re-staging them). `--full-refresh`
    rebuilds them from scratch; do that after changing a staging rule (a dbt
    var or seed staging reads).
-#}

{% macro staging_materialization() -%}
    {{ return(adapter.dispatch('staging_materialization', 'segue')()) }}
{%- endmacro %}

{% macro default__staging_materialization() -%}
    {{ return('incremental' if var('staging_incremental', false) else 'table') }}
{%- endmacro %}

{#- Spark's managed tables here are Parquet: no DELETE (prune_out_of_window)
    and no merge, which need Delta, Iceberg or Hudi. The two tables are
    rebuilt in full whatever staging_incremental says. -#}
{% macro spark__staging_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{% macro staging_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{#- True on an incremental run of the calling model: it stages only new rows. -#}
{% macro stages_new_rows_only() -%}
    {#- `this` is none in a dbt unit test: the model's full-build SQL is tested. -#}
    {{ return(this is not none and is_incremental()) }}
{%- endmacro %}

{#- The raw rows a base macro (macros/staging/base/) cleans, as a select:
    every row of `source_relation`, or, on an incremental run of the
    calling staging model, only those whose cleaned `key` (clean_text, as
    the base macros clean it) is not staged yet, so the run cleans only the
    unstaged raw rows. -#}
{% macro unstaged_raw_rows(source_relation, key) -%}
    select * from {{ source_relation }} as raw_rows
    {%- if segue.stages_new_rows_only() %}
    where {{ segue.not_staged(key, segue.clean_text('raw_rows.' ~ key)) }}
    {%- endif %}
{%- endmacro %}

{#- `value` is not among this model's staged `key`s. A null value is never
    kept, which is what staging does with a row without its key anyway. -#}
{% macro not_staged(key, value) -%}
    {{ return(adapter.dispatch('not_staged', 'segue')(key, value)) }}
{%- endmacro %}

{#- Elsewhere an anti-join the planner knows (PostgreSQL turns a large
    `not in (subquery)` into a row-by-row subplan, Spark into a null-aware
    nested-loop join). -#}
{% macro default__not_staged(key, value) -%}
    {{ value }} is not null
    and not exists (
        select 1 from {{ this }} as staged
        where staged.{{ key }} = {{ value }}
    )
{%- endmacro %}

{#- DuckDB decorrelates `not exists` compared with an expression into a
    grouping of every distinct value, a join and a mark join; `not in` over
    the non-null staged keys is one hash join (5x less CPU at 1M,
    bench/results.md, 2026-12-03). -#}
{% macro duckdb__not_staged(key, value) -%}
    {{ value }} not in (
        select staged.{{ key }} from {{ this }} as staged
        where staged.{{ key }} is not null
    )
{%- endmacro %}

{#- The event-time window the current as_of accepts, as a filter to AND into
    the model's where clause (both full and incremental builds). The base view
    already quarantines rows outside it, but a view keeps the as_of of the run
    that created it: a run selecting only the stg_ model at another as_of
    (`dbt run --select stg_segment__events`) reads a view compiled for the
    previous one, and without this filter it would re-stage the very rows
    prune_out_of_window just deleted. -#}
{% macro within_as_of_window(time_column) -%}
    {{ time_column }} <= {{ segue.latest_valid_timestamp() }}
    and {{ time_column }} >= {{ segue.earliest_valid_timestamp() }}
{%- endmacro %}

{#- Pre-hook: on an incremental run, delete staged rows whose event time the
    current as_of (and earliest_valid_timestamp) quarantines, i.e. those a
    run at an earlier as_of than the last one puts in the future. Together
    with within_as_of_window and unstaged_raw_rows this keeps an incremental run
    equal to a full rebuild for any sequence of as_of values: moving it back
    deletes the rows now in the future; moving it forward stages the rows an
    earlier run quarantined as in the future (their keys are not staged); the
    kept delivery of a replayed event_id is its earliest valid one, which
    does not depend on as_of. -#}
{% macro prune_out_of_window(time_column) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where not ({{ segue.within_as_of_window(time_column) }})
    {%- endif -%}
{%- endmacro %}
