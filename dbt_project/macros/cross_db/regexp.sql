{#-
    Regular expressions, one spelling per warehouse.

    `pattern` is written as a plain string and quoted here. Keep patterns
    anchored (^...$) so search-semantics (DuckDB, PostgreSQL, Spark) and
    full-match semantics (Snowflake) agree, and free of backslashes (Spark's
    string literals unescape them): write [+] and [.] rather than \+ and \.
-#}

{% macro regexp_replace(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace', 'segue')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro duckdb__regexp_replace(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro postgres__regexp_replace(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace(expression, pattern, replacement) -%}
    {#- Spark replaces every match already. -#}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}


{% macro regexp_like(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_like', 'segue')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_like(expression, pattern) -%}
    regexp_like({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regexp_like(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regexp_like(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_like(expression, pattern) -%}
    ({{ expression }} rlike '{{ pattern }}')
{%- endmacro %}
