{#-
    A person's name as a golden record shows it: a value typed all in upper
    or all in lower case (JOHN, lindsey) becomes title case per word and
    hyphenated part (Jean-Pierre); a mixed-case value (McDonald, van Dijk)
    is kept as typed.
-#}
{% macro name_case(expression) -%}
    case
        when {{ expression }} = upper({{ expression }}) or {{ expression }} = lower({{ expression }})
            then {{ adapter.dispatch('title_case', 'segue')(expression) }}
        else {{ expression }}
    end
{%- endmacro %}

{#- PostgreSQL, Spark, Snowflake: initcap (word boundaries include '-'). -#}
{% macro default__title_case(expression) -%}
    initcap({{ expression }})
{%- endmacro %}

{#- DuckDB has no initcap: capitalize each part split on spaces, then on '-'. -#}
{% macro duckdb__title_case(expression) -%}
    array_to_string(
        list_transform(
            string_split(lower({{ expression }}), ' '),
            lambda word: array_to_string(
                list_transform(string_split(word, '-'), lambda part: upper(left(part, 1)) || substr(part, 2)),
                '-'
            )
        ),
        ' '
    )
{%- endmacro %}
