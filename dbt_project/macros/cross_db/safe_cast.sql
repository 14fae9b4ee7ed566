{#-
    dbt.safe_cast, made safe where the warehouse can do it.

    dbt's default (and dbt-duckdb's) is a plain cast, which fails the whole
    build on one malformed raw value ('not a date' in a timestamp column).
    dbt_project.yml's `dispatch:` puts this package first in dbt's search
    order, so `{{ dbt.safe_cast(...) }}` resolves to these on DuckDB and Spark
    and returns null instead; staging then quarantines the row.
    PostgreSQL has no try_cast: there dbt's plain cast still applies.
-#}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
