{#- A 64-bit hash of a text key, to group and match on instead of the text
    (far cheaper to aggregate: bench/results.md). Callers must stay correct
    when two keys share a hash. -#}
{% macro key_hash(expression) -%}
    {{ return(adapter.dispatch('key_hash', 'segue')(expression)) }}
{%- endmacro %}

{#- Elsewhere: the key itself. -#}
{% macro default__key_hash(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro duckdb__key_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}

{% macro postgres__key_hash(expression) -%}
    hashtextextended({{ expression }}, 0)
{%- endmacro %}

{% macro spark__key_hash(expression) -%}
    xxhash64({{ expression }})
{%- endmacro %}
