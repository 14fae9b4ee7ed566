{#-
    Product events of the clickstream (viewed, added, removed, wishlisted)
    with the customer they belong to: the signed-in customer_id, else the
    device's anonymous_id, resolved through marts.customer_identifiers.
    Events of devices nobody can be named for are left out (nobody to
    message). Only events up to "now" count, and views only from the first
    day a browse that journey_browse_abandonment keeps can start on: views
    are most product events, and no other journey reads them (at 1M
    customers the table is 10.7M rows instead of 24.1M, bench/results.md).
-#}

with

events as (

    select * from {{ ref('stg_segment__events') }}

),

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

final as (

    select
        events.event_id,
        coalesce(by_customer_id.customer_key, by_device.customer_key) as customer_key,
        events.event_name,
        events.product_id,
        events.quantity,
        events.price,
        events.occurred_at

    from events
    left join identifiers as by_customer_id
        on
            by_customer_id.identifier_type = 'customer_id'
            and events.customer_id = by_customer_id.identifier_value
    left join identifiers as by_device
        on
            by_device.identifier_type = 'anonymous_id'
            and events.anonymous_id = by_device.identifier_value
    where
        events.event_name in ('Product Viewed', 'Product Added', 'Product Removed', 'Product Added to Wishlist')
        and events.product_id is not null
        and events.occurred_at <= {{ segue.segue_now() }}
        and (
            events.event_name <> 'Product Viewed'
            or events.occurred_at >= {{ segue.journey_lookback_first_day() }}
        )
        and coalesce(by_customer_id.customer_key, by_device.customer_key) is not null

)

select * from final
