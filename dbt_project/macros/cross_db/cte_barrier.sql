{#-
    A WHERE clause that keeps a CTE from being inlined, where inlining hurts.

    Spark inlines every deterministic CTE at each reference. Identity label
    propagation unrolls its passes as CTEs that each read the previous pass
    twice, so inlined the plan grows as 4^passes. A filter that is always true
    but non-deterministic (rand() is in [0, 1)) makes Spark keep the CTE as one
    relation and compute it once. Elsewhere (DuckDB, PostgreSQL) it is empty.
-#}
{% macro cte_barrier() -%}
    {{ return(adapter.dispatch('cte_barrier', 'segue')()) }}
{%- endmacro %}

{% macro default__cte_barrier() -%}
{%- endmacro %}

{% macro spark__cte_barrier() -%}
    where rand() >= 0
{%- endmacro %}
