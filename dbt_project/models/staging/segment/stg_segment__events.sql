{{ config(
    materialized=segue.staging_materialization(),
    unique_key='event_id',
    incremental_strategy=segue.staging_incremental_strategy(),
    on_schema_change='fail',
    pre_hook="{{ segue.prune_out_of_window('occurred_at') }}",
) }}

{%- set source_relation = source('segment', 'events') %}

with

base_events as (

    select base.* from
    {%- if segue.stages_new_rows_only() %}
        -- incremental runs: the base view's SQL over only the raw rows whose
        -- event_id is not staged yet (macros/staging/base/base_segment__events.sql)
        ({{ segue.base_segment__events(source_relation) }}) as base
    {%- else %}
        {{ ref('base_segment__events') }} as base
    {%- endif %}
    where
        base.quarantine_reason is null
        -- the current as_of's window, even when the base view was compiled
        -- for another (macros/staging/incremental_staging.sql)
        and {{ segue.within_as_of_window('base.occurred_at') }}

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
