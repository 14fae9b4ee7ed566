{#-
    JSON arrays built by aggregation, as text, one spelling per warehouse.

    json_array_agg(expression, order_by, condition): the values of
    `expression` (of the rows where `condition` holds, when given) as a JSON
    array, ordered by `order_by`; '[]' when there are none.
    json_object_array_agg(fields, order_by): one JSON object per row, `fields`
    mapping each key to its expression, as a JSON array ordered by `order_by`.
    Used by sync models whose destination takes lists (the personalization
    API's identifiers, segments and products); the destination parses them.
-#}

{% macro json_array_agg(expression, order_by, condition=none) -%}
    {{ return(adapter.dispatch('json_array_agg', 'segue')(expression, order_by, condition)) }}
{%- endmacro %}

{% macro default__json_array_agg(expression, order_by, condition=none) -%}
    coalesce(
        cast(json_agg({{ expression }} order by {{ order_by }})
            {%- if condition %} filter (where {{ condition }}){% endif %} as {{ dbt.type_string() }}),
        '[]'
    )
{%- endmacro %}

{% macro duckdb__json_array_agg(expression, order_by, condition=none) -%}
    coalesce(
        cast(to_json(list({{ expression }} order by {{ order_by }})
            {%- if condition %} filter (where {{ condition }}){% endif %}) as {{ dbt.type_string() }}),
        '[]'
    )
{%- endmacro %}

{% macro spark__json_array_agg(expression, order_by, condition=none) -%}
    {#- Spark's collect_list keeps no order and drops nulls: sort by the ordering, then keep the values. -#}
    to_json(transform(
        array_sort(collect_list(
            {%- if condition %} case when {{ condition }} then {% endif -%}
            named_struct('k', {{ order_by }}, 'v', {{ expression }})
            {%- if condition %} end{% endif -%}
        )),
        x -> x.v
    ))
{%- endmacro %}


{% macro json_object_array_agg(fields, order_by) -%}
    {{ return(adapter.dispatch('json_object_array_agg', 'segue')(fields, order_by)) }}
{%- endmacro %}

{% macro default__json_object_array_agg(fields, order_by) -%}
    coalesce(cast(json_agg(json_build_object(
        {%- for key, expression in fields.items() %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) order by {{ order_by }}) as {{ dbt.type_string() }}), '[]')
{%- endmacro %}

{% macro duckdb__json_object_array_agg(fields, order_by) -%}
    coalesce(cast(to_json(list(json_object(
        {%- for key, expression in fields.items() %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) order by {{ order_by }})) as {{ dbt.type_string() }}), '[]')
{%- endmacro %}

{% macro spark__json_object_array_agg(fields, order_by) -%}
    to_json(transform(
        array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', named_struct(
            {%- for key, expression in fields.items() %}
            '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
            {%- endfor %}
        )))),
        x -> x.v
    ))
{%- endmacro %}
