{#-
    A number cast to an integer, rounded half to even on every warehouse.

    DuckDB and PostgreSQL round a double to the nearest integer when casting
    it (ties to even: 2.5 becomes 2, 3.5 becomes 4); Spark truncates (3.5
    becomes 3). journey_replenishment casts a median of whole hours, which is
    often n.5, so its due times differed on Spark. spark__round_to_int rounds
    with bround (half to even) before the cast; the default is the plain cast.
-#}
{% macro round_to_int(expression) -%}
    {{ return(adapter.dispatch('round_to_int', 'segue')(expression)) }}
{%- endmacro %}

{% macro default__round_to_int(expression) -%}
    cast({{ expression }} as {{ dbt.type_int() }})
{%- endmacro %}

{% macro spark__round_to_int(expression) -%}
    cast(bround({{ expression }}, 0) as {{ dbt.type_int() }})
{%- endmacro %}
