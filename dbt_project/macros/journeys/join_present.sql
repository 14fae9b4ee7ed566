{#-
    The non-null values of `columns` (leading ones first, as ranks 1..k
    without gaps leave them) joined by `separator` (a SQL string literal):
    listagg for a handful of known columns, without an ordered aggregate.
    Null when the first column is null.
-#}
{% macro join_present(columns, separator) -%}
    {%- set parts = [columns[0]] -%}
    {%- for column in columns[1:] -%}
        {%- do parts.append("coalesce(" ~ dbt.concat([separator, column]) ~ ", '')") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
