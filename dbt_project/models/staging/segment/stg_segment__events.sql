{{ config(
    materialized=segue.staging_materialization(),
    unique_key='event_id',
    incremental_strategy=segue.staging_incremental_strategy(),
    on_schema_change='fail',
    pre_hook="{{ segue.prune_out_of_window('occurred_at') }}",
) }}

with

base_events as (

    select base.* from {{ ref('base_segment__events') }} as base
    where
        base.quarantine_reason is null
        -- the current as_of's window, even when the base view was compiled
        -- for another (macros/staging/incremental_staging.sql)
        and {{ segue.within_as_of_window('base.occurred_at') }}
        -- incremental runs: only event_ids not staged yet
        and {{ segue.new_rows_only('event_id', 'base') }}

),

-- An event_id delivered twice is one event: keep the first (macros/staging/first_delivery.sql).
{{ segue.first_delivery('base_events', 'event_id', [
    'occurred_at asc',
    'anonymous_id asc nulls last',
    'customer_id asc nulls last',
    'event_name asc nulls last',
    'product_id asc nulls last',
    'order_id asc nulls last',
    'quantity asc nulls last',
    'price asc nulls last',
    'revenue asc nulls last',
    'event_source asc nulls last'
]) }},

final as (

    select
        event_id,
        anonymous_id,
        customer_id,
        product_id,
        order_id,
        event_name,
        event_source,
        quantity,
        price,
        revenue,
        occurred_at

    from first_deliveries

)

select * from final
