{#-
    A stable pseudo-random number in [0, 1) from a text expression: the first
    six hex digits of its MD5 (dbt.hash) read as an integer over 16^6.
    Same input, same number, on every run and every warehouse (MD5 is MD5),
    so a holdout chosen with it never moves. Written with substr/position
    only; dispatched so a warehouse may use a native hex parser instead.
-#}
{% macro stable_fraction(expression) -%}
    {{ return(adapter.dispatch('stable_fraction', 'segue')(expression)) }}
{%- endmacro %}

{% macro default__stable_fraction(expression) -%}
    {%- set hashed = 'lower(' ~ dbt.hash(expression) ~ ')' -%}
    (
    {%- for i in range(6) %}
        ({{ dbt.position("substr(" ~ hashed ~ ", " ~ (i + 1) ~ ", 1)", "'0123456789abcdef'") }} - 1)
        * {{ 16 ** (5 - i) }}{% if not loop.last %} +{% endif %}
    {%- endfor %}
    ) / 16777216.0
{%- endmacro %}


{#- action_id: MD5 of the parts joined with '|' (nulls as ''). -#}
{% macro stable_id(parts) -%}
    {%- set pieces = [] -%}
    {%- for part in parts -%}
        {%- do pieces.append("coalesce(cast(" ~ part ~ " as " ~ dbt.type_string() ~ "), '')") -%}
        {%- if not loop.last -%}{%- do pieces.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(pieces)) }}
{%- endmacro %}
