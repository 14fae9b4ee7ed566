{#- Raw text as staging wants it: cast to text (a column may land with
    another type), trimmed, and empty becomes null. -#}
{% macro clean_text(expression) -%}
    nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- clean_text, lower-cased: anonymous ids, tiers, statuses, channels. -#}
{% macro clean_lower(expression) -%}
    lower({{ segue.clean_text(expression) }})
{%- endmacro %}

{#- A typed value that is null instead of an error when the raw value does not
    parse (see macros/cross_db/safe_cast.sql). -#}
{% macro typed(expression, type) -%}
    {{ dbt.safe_cast(expression, type) }}
{%- endmacro %}

{#- `name=value; name=value` for the listed raw columns, 'null' for nulls: the
    record_text column of stg_quarantined_rows. -#}
{% macro record_text(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'; '") -%}{%- endif -%}
        {%- do parts.append("'" ~ column ~ "='") -%}
        {%- do parts.append("coalesce(cast(" ~ adapter.quote(column) ~ " as " ~ dbt.type_string() ~ "), 'null')") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
