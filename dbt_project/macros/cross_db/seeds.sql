{#-
    Seeds as every adapter reads them.

    dbt loads a seed through agate on PostgreSQL and Spark, and agate reads the
    text `null` in a CSV as NULL (dbt-duckdb reads the file with DuckDB, which
    keeps it). blocked_identifier_values lists the literal value `null` (typed
    into forms and tills), and its identifier_value is never empty, so a NULL
    there can only be that word: read the seed through this macro everywhere.
-#}
{% macro blocked_identifier_values() -%}
    (
        select
            identifier_type,
            coalesce(identifier_value, 'null') as identifier_value,
            reason
        from {{ ref('blocked_identifier_values') }}
    )
{%- endmacro %}
