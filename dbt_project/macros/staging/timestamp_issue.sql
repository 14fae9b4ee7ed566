{#-
    The quarantine reason a timestamp column gives its row, or null.

    raw       the raw value as raw_value gives it (null when absent or blank;
              the column itself when it landed typed, else its clean_text)
    parsed    the same value after dbt.safe_cast (null when it does not parse)
    required  whether an absent value quarantines the row ('missing timestamp')

    Limits are dbt vars: a value later than as_of + future_tolerance_hours is
    'timestamp in the future'; one earlier than earliest_valid_timestamp is
    'timestamp too old'.
-#}
{% macro timestamp_issue(raw, parsed, required=true) -%}
    case
        when {{ raw }} is null then {{ "'missing timestamp'" if required else "null" }}
        when {{ parsed }} is null then 'unparseable timestamp'
        when {{ parsed }} > {{ segue.latest_valid_timestamp() }} then 'timestamp in the future'
        when {{ parsed }} < {{ segue.earliest_valid_timestamp() }} then 'timestamp too old'
    end
{%- endmacro %}

{% macro latest_valid_timestamp() -%}
    {{ dbt.dateadd('hour', var('future_tolerance_hours') | int, segue.segue_now()) }}
{%- endmacro %}

{% macro earliest_valid_timestamp() -%}
    {{ adapter.dispatch('timestamp_literal', 'segue')(var('earliest_valid_timestamp')) }}
{%- endmacro %}
