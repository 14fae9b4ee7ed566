{#-
    dbt.listagg on Spark, with its order_by_clause kept.

    dbt-spark's listagg ignores `order by` ("not supported on Spark"), which
    would make payload lists differ from DuckDB and PostgreSQL. Here the values
    are collected with their sort key, sorted (key, then value: deterministic
    on ties), and joined; nulls are skipped as listagg does elsewhere.
    Takes `order by <expression> [asc|desc]` with one expression.
-#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set clause = order_by_clause | trim -%}
        {%- if clause[:8] | lower != 'order by' or ',' in clause -%}
            {{ exceptions.raise_compiler_error("spark__listagg takes 'order by <one expression> [asc|desc]', not: " ~ order_by_clause) }}
        {%- endif -%}
        {%- set key = clause[8:] | trim -%}
        {%- set descending = key[-5:] | lower == ' desc' -%}
        {%- if descending -%}{%- set key = key[:-5] -%}{%- elif key[-4:] | lower == ' asc' -%}{%- set key = key[:-4] -%}{%- endif -%}
        {%- set sorted = "array_sort(collect_list(named_struct('k', " ~ key ~ ", 'v', " ~ measure ~ ")))" -%}
        {%- if descending -%}{%- set sorted = "reverse(" ~ sorted ~ ")" -%}{%- endif -%}
        {%- set values = "transform(" ~ sorted ~ ", x -> x.v)" -%}
    {%- else -%}
        {%- set values = "array_sort(collect_list(" ~ measure ~ "))" -%}
    {%- endif -%}
    {%- if limit_num -%}{%- set values = "slice(" ~ values ~ ", 1, " ~ limit_num ~ ")" -%}{%- endif -%}
    array_join({{ values }}, {{ delimiter_text }})
{%- endmacro %}
