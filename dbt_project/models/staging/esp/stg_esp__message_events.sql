{{ config(
    materialized=segue.staging_materialization(),
    unique_key='event_id',
    incremental_strategy=segue.staging_incremental_strategy(),
    on_schema_change='fail',
    pre_hook="{{ segue.prune_out_of_window('occurred_at') }}",
) }}

with

base_message_events as (

    select base.* from {{ ref('base_esp__message_events') }} as base
    where
        base.quarantine_reason is null
        -- the current as_of's window, even when the base view was compiled
        -- for another (macros/staging/incremental_staging.sql)
        and {{ segue.within_as_of_window('base.occurred_at') }}
        -- incremental runs: only event_ids not staged yet
        and {{ segue.new_rows_only('event_id', 'base') }}

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
