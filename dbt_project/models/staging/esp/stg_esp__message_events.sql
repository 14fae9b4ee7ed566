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

replayed as (

    -- Keys delivered more than once: only their rows are ranked (a window over
    -- every row cost far more than the base view itself; bench/results.md).
    select event_id
    from base_message_events
    group by event_id
    having count(*) > 1

),

single_deliveries as (

    select
        base_message_events.*,
        1 as delivery_rank
    from base_message_events
    where base_message_events.event_id not in (select replayed.event_id from replayed)

),

ranked as (

    -- An event_id reported twice is one event: keep the first report.
    select
        *,
        row_number() over (
            partition by event_id
            order by
                occurred_at asc,
                message_id asc nulls last,
                channel asc nulls last,
                identifier_value asc nulls last,
                event_name asc nulls last,
                journey asc nulls last
        ) as delivery_rank

    from base_message_events
    where event_id in (select replayed.event_id from replayed)

),

deduplicated as (

    select * from single_deliveries
    union all
    select * from ranked

),

final as (

    select
        event_id,
        message_id,
        channel,
        identifier_value,
        event_name,
        journey,
        occurred_at

    from deduplicated
    where delivery_rank = 1

)

select * from final
