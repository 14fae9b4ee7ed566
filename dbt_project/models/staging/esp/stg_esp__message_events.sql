with

base_message_events as (

    select * from {{ ref('base_esp__message_events') }}
    where quarantine_reason is null

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

    from ranked
    where delivery_rank = 1

)

select * from final
