{#-
    dbt.dateadd on Spark, keeping fractional seconds.

    dbt-spark's spark__dateadd goes through to_unix_timestamp (whole seconds),
    so '05:58:27.908' plus one hour became '06:58:27' and journey due times,
    segment entry times and every key built from them differed from DuckDB
    and PostgreSQL. timestampadd (Spark 3.3+) adds in the timestamp's own
    precision. The project's dispatch search order (dbt_project.yml) puts
    segue before dbt, so this version wins on Spark; other adapters keep dbt's.
-#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
