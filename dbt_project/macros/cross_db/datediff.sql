{#-
    dbt.datediff on Spark for hour, minute and second: boundaries crossed.

    DuckDB's date_diff and dbt-postgres's datediff count the hour (minute,
    second) boundaries between the two timestamps: 10:01 to 11:59 is 1 hour.
    dbt-spark's spark__datediff rounds the elapsed seconds up instead (2 hours
    there), so journey_replenishment's median gaps, and the due times and
    products built on them, differed on Spark. Here both ends are truncated to
    the unit first, then subtracted: the same count as DuckDB and PostgreSQL.
    Days, weeks, months, quarters and years are counted by dbt-spark's own
    macro (it already counts boundaries). The project's dispatch search order
    (dbt_project.yml) puts segue before dbt, so this version wins on Spark.
-#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set seconds = {'hour': 3600, 'minute': 60, 'second': 1} -%}
    {%- if datepart in seconds -%}
        cast((
            unix_seconds(date_trunc('{{ datepart }}', {{ second_date }}))
            - unix_seconds(date_trunc('{{ datepart }}', {{ first_date }}))
        ) div {{ seconds[datepart] }} as bigint)
    {%- else -%}
        {{ dbt_spark.spark__datediff(first_date, second_date, datepart) }}
    {%- endif -%}
{%- endmacro %}
