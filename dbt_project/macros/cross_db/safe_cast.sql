{#-
    dbt.safe_cast, made safe where the warehouse can do it.

    dbt's default (and dbt-duckdb's) is a plain cast, which fails the whole
    build on one malformed raw value ('not a date' in a timestamp column).
    dbt_project.yml's `dispatch:` puts this package first in dbt's search
    order, so `{{ dbt.safe_cast(...) }}` resolves to these on DuckDB and Spark
    and returns null instead; staging then quarantines the row.
    PostgreSQL has no try_cast: postgres__safe_cast below checks the shape first.
-#}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{#-
    PostgreSQL has no try_cast (pg_input_is_valid arrives in 16): the value is
    cast only when its text has the target type's shape, else null. Shapes:
    timestamps and dates as ISO 8601 (month 01-12, day 01-31), integers of up
    to 9 digits (18 for bigint), decimals with an optional exponent, the
    boolean words PostgreSQL reads. A value of the right shape that still
    cannot be read (30 February) fails the build as a plain cast would.
    The condition is evaluated before the cast, also when PostgreSQL folds
    constants at plan time (a false WHEN drops its branch unevaluated).
-#}
{% macro postgres__safe_cast(field, type) -%}
    {%- set kind = type | lower | trim -%}
    {%- set value = "trim(cast(" ~ field ~ " as text))" -%}
    {%- if kind.startswith('timestamp') or kind == 'date' -%}
        {%- set shape = "~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?)?$'" -%}
    {%- elif kind in ('bigint', 'int8') -%}
        {%- set shape = "~ '^[+-]?[0-9]{1,18}$'" -%}
    {%- elif kind in ('integer', 'int', 'int4', 'smallint', 'int2') -%}
        {%- set shape = "~ '^[+-]?[0-9]{1,9}$'" -%}
    {%- elif kind.startswith('numeric') or kind.startswith('decimal') or kind in ('float', 'float8', 'double precision', 'real') -%}
        {%- set shape = "~ '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$'" -%}
    {%- elif kind.startswith('bool') -%}
        {%- set shape = "~* '^(true|false|t|f|yes|no|y|n|on|off|1|0)$'" -%}
    {%- else -%}
        {%- set shape = none -%}
    {%- endif -%}
    {%- if shape is none -%}
        cast({{ field }} as {{ type }})
    {%- else -%}
        (case when {{ value }} {{ shape }} then cast({{ field }} as {{ type }}) end)
    {%- endif -%}
{%- endmacro %}
