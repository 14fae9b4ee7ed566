{#- Use a model's custom schema as is (`marts`, not `main_marts`): the published
    schema names are part of CONTRACT.md section 3. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
