{#-
    Incremental staging (README.md, "Incremental builds").

    The big append-only staging tables (stg_segment__events,
    stg_esp__message_events) are dbt incremental models when dbt var
    staging_incremental is true: a run stages only the raw rows whose key is
    not staged yet (new_rows_only), and first deletes staged rows that the
    current as_of no longer accepts (prune_out_of_window, a pre-hook), so a
    build at an earlier as_of never keeps "future" rows. `--full-refresh`
    rebuilds them from scratch; do that after changing a staging rule (a dbt
    var or seed staging reads).
-#}

{% macro staging_materialization() -%}
    {{ return('incremental' if var('staging_incremental', false) else 'table') }}
{%- endmacro %}

{#- delete+insert where the adapter has it; merge on Spark (Delta). -#}
{% macro staging_incremental_strategy() -%}
    {{ return(adapter.dispatch('staging_incremental_strategy', 'segue')()) }}
{%- endmacro %}

{% macro default__staging_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__staging_incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#- A filter (to AND into a where clause on `relation_alias`) keeping rows
    whose `key` is not in this model's table yet; `true` on a full build. -#}
{% macro new_rows_only(key, relation_alias) -%}
    {#- `this` is none in a dbt unit test: the model's full-build SQL is tested. -#}
    {%- if is_incremental() and this is not none -%}
    not exists (
        select 1 from {{ this }} as staged
        where staged.{{ key }} = {{ relation_alias }}.{{ key }}
    )
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: on an incremental run, delete staged rows whose event time the
    current as_of (and earliest_valid_timestamp) quarantines. -#}
{% macro prune_out_of_window(time_column) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where
        {{ time_column }} > {{ segue.latest_valid_timestamp() }}
        or {{ time_column }} < {{ segue.earliest_valid_timestamp() }}
    {%- endif -%}
{%- endmacro %}
