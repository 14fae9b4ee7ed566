{#-
    Time-zone arithmetic on UTC timestamps without zone (the house type).

    utc_to_local(ts, tz): the wall-clock time in IANA zone tz at UTC instant ts.
    local_to_utc(ts, tz): the UTC instant of wall-clock time ts in zone tz.
    A null zone reads as UTC. One spelling per warehouse.
-#}

{% macro utc_to_local(timestamp, zone) -%}
    {{ return(adapter.dispatch('utc_to_local', 'segue')(timestamp, zone)) }}
{%- endmacro %}

{% macro local_to_utc(timestamp, zone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'segue')(timestamp, zone)) }}
{%- endmacro %}

{% macro default__utc_to_local(timestamp, zone) -%}
    cast((({{ timestamp }}) at time zone 'UTC') at time zone coalesce({{ zone }}, 'UTC') as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro default__local_to_utc(timestamp, zone) -%}
    cast((({{ timestamp }}) at time zone coalesce({{ zone }}, 'UTC')) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_to_local(timestamp, zone) -%}
    cast(timezone(coalesce({{ zone }}, 'UTC'), timezone('UTC', {{ timestamp }})) as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__local_to_utc(timestamp, zone) -%}
    cast(timezone('UTC', timezone(coalesce({{ zone }}, 'UTC'), {{ timestamp }})) as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro spark__utc_to_local(timestamp, zone) -%}
    from_utc_timestamp({{ timestamp }}, coalesce({{ zone }}, 'UTC'))
{%- endmacro %}

{% macro spark__local_to_utc(timestamp, zone) -%}
    to_utc_timestamp({{ timestamp }}, coalesce({{ zone }}, 'UTC'))
{%- endmacro %}


{#-
    Quiet hours (CONTRACT §4.6): a UTC instant that falls, in zone tz, inside
    [quiet_hours_start, quiet_hours_end) moves to the next quiet_hours_end
    o'clock local; any other instant is returned unchanged. Handles windows
    that wrap midnight (21 -> 8, the default) and windows that do not.
-#}
{% macro quiet_hours_adjust(timestamp, zone) -%}
    {%- set start_hour = var('quiet_hours_start') | int -%}
    {%- set end_hour = var('quiet_hours_end') | int -%}
    {%- set local = segue.utc_to_local(timestamp, zone) -%}
    {%- set local_hour = 'extract(hour from ' ~ local ~ ')' -%}
    {%- set local_day = dbt.date_trunc('day', local) -%}
    {%- set end_today = dbt.dateadd('hour', end_hour, local_day) -%}
    {%- set end_tomorrow = dbt.dateadd('hour', end_hour + 24, local_day) -%}
    case
    {%- if start_hour > end_hour %}
        when {{ local_hour }} >= {{ start_hour }} then {{ segue.local_to_utc(end_tomorrow, zone) }}
        when {{ local_hour }} < {{ end_hour }} then {{ segue.local_to_utc(end_today, zone) }}
    {%- elif start_hour < end_hour %}
        when {{ local_hour }} >= {{ start_hour }} and {{ local_hour }} < {{ end_hour }}
            then {{ segue.local_to_utc(end_today, zone) }}
    {%- endif %}
        else {{ timestamp }}
    end
{%- endmacro %}


{#-
    The first UTC instant at or after `timestamp` whose local time in zone tz
    is `hour` o'clock sharp (send-time optimization); `timestamp` itself when
    hour is null.
-#}
{% macro next_local_hour(timestamp, zone, hour) -%}
    {%- set local = segue.utc_to_local(timestamp, zone) -%}
    {%- set today_at = dbt.dateadd('hour', hour, dbt.date_trunc('day', local)) -%}
    {%- set tomorrow_at = dbt.dateadd('hour', '(' ~ hour ~ ') + 24', dbt.date_trunc('day', local)) -%}
    case
        when {{ hour }} is null then {{ timestamp }}
        when {{ today_at }} >= {{ local }} then {{ segue.local_to_utc(today_at, zone) }}
        else {{ segue.local_to_utc(tomorrow_at, zone) }}
    end
{%- endmacro %}


{#- A typical value: the median. -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'segue')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}
