{#-
    A model that reads its own previous build (segment_memberships keeps each
    member's entered_at): where that previous version is read from.

    DuckDB and PostgreSQL build a table beside the old one and swap them, so
    the model reads `{{ this }}` itself. dbt-spark drops the old table before
    it creates the new one (parquet tables cannot be replaced in place), so
    on Spark the model's pre-hooks first copy it to `<name>__previous` and the
    model reads that copy:

        config(pre_hook=[
            "{{ segue.previous_version_hook(this, 'drop') }}",
            "{{ segue.previous_version_hook(this, 'copy') }}",
        ], post_hook="{{ segue.previous_version_hook(this, 'drop') }}")
        ... from {{ segue.previous_version(this) }}

    The post-hook drops the copy again. The hooks render to nothing on other
    warehouses (dbt skips empty hooks).
-#}
{% macro previous_version(relation) -%}
    {{ return(adapter.dispatch('previous_version', 'segue')(relation)) }}
{%- endmacro %}

{% macro default__previous_version(relation) -%}
    {{ return(relation) }}
{%- endmacro %}

{% macro spark__previous_version(relation) -%}
    {{ return(relation.incorporate(path={'identifier': relation.identifier ~ '__previous'})) }}
{%- endmacro %}


{#- step 'drop': drop the last copy; step 'copy': copy the current table, when it exists. -#}
{% macro previous_version_hook(relation, step) -%}
    {{ return(adapter.dispatch('previous_version_hook', 'segue')(relation, step)) }}
{%- endmacro %}

{% macro default__previous_version_hook(relation, step) -%}
{%- endmacro %}

{% macro spark__previous_version_hook(relation, step) -%}
    {%- set copy = segue.previous_version(relation) -%}
    {%- if step == 'drop' -%}
        drop table if exists {{ copy }}
    {%- elif execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is not none -%}
        create table {{ copy }} using parquet as select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}
