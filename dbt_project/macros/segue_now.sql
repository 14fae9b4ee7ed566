{#- The instant that counts as "now": var `as_of`, else env SEGUE_AS_OF, else
    the real clock. Always a UTC timestamp without zone. -#}
{% macro segue_now() -%}
    {%- set as_of = var('as_of', '') or env_var('SEGUE_AS_OF', '') -%}
    {%- if as_of -%}
        {{ return(adapter.dispatch('timestamp_literal', 'segue')(as_of)) }}
    {%- else -%}
        {{ return(adapter.dispatch('utc_now', 'segue')()) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__timestamp_literal(value) -%}
    cast('{{ value | replace("T", " ") | replace("Z", "") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro default__utc_now() -%}
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_now() -%}
    cast(timezone('UTC', current_timestamp) as {{ dbt.type_timestamp() }})
{%- endmacro %}
