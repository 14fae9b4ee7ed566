{{ config(
    materialized=segue.staging_materialization(),
    unique_key='event_id',
    incremental_strategy=segue.staging_incremental_strategy(),
    on_schema_change='fail',
    pre_hook="{{ segue.prune_out_of_window('occurred_at') }}",
) }}

{%- set source_relation = source('esp', 'message_events') %}
-- the seed the base macro joins, read only on incremental runs
-- depends_on: {{ ref('country_calling_codes') }}

with

base_message_events as (

    select base.* from
    {%- if segue.stages_new_rows_only() %}
        -- incremental runs: the base view's SQL over only the raw rows whose
        -- event_id is not staged yet (macros/staging/base/base_esp__message_events.sql)
        ({{ segue.base_esp__message_events(source_relation) }}) as base
    {%- else %}
        {{ ref('base_esp__message_events') }} as base
    {%- endif %}
    where
        base.quarantine_reason is null
        -- the current as_of's window, even when the base view was compiled
        -- for another (macros/staging/incremental_staging.sql)
        and {{ segue.within_as_of_window('base.occurred_at') }}

),

-- An event_id reported twice is one event: keep the first (macros/staging/first_delivery.sql).
{{ segue.first_delivery('base_message_events', 'event_id', [
    'occurred_at asc',
    'message_id asc nulls last',
    'channel asc nulls last',
    'identifier_value asc nulls last',
    'event_name asc nulls last',
    'journey asc nulls last'
]) }},

final as (

    select
        event_id,
        message_id,
        channel,
        identifier_value,
        event_name,
        journey,
        occurred_at

    from first_deliveries

)

select * from final
