{#-
    Browse abandonment: a customer viewed one product at least
    var `browse_min_views` (2) times in a (UTC) day. The trigger is the view
    that reached the count; the reminder is due 24 h later. Exit: any
    `Product Added` or completed purchase at or after the first view of that
    day (they carted or bought: no browse reminder).
-#}

{%- set trigger_id = dbt.concat([
    "'browse:'", 'recent_browsed.product_id', "':'", 'cast(recent_browsed.viewed_on as ' ~ dbt.type_string() ~ ')'
]) %}

with

events as (

    select * from {{ ref('int_journeys__shopping_events') }}

),

purchases as (

    select * from {{ ref('int_journeys__purchases') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

views as (

    select
        customer_key,
        product_id,
        event_id,
        occurred_at,
        cast({{ dbt.date_trunc('day', 'occurred_at') }} as date) as viewed_on,
        row_number() over (
            partition by customer_key, product_id, cast({{ dbt.date_trunc('day', 'occurred_at') }} as date)
            order by occurred_at, event_id
        ) as view_number

    from events
    where
        event_name = 'Product Viewed'
        -- whole days from the first day a kept trigger can fall on (views
        -- are counted per day; journey_due_steps keeps journey_lookback_days)
        and occurred_at >= {{ segue.journey_lookback_first_day() }}

),

browsed as (

    select
        customer_key,
        product_id,
        viewed_on,
        min(occurred_at) as first_viewed_at,
        min(case when view_number = {{ var('browse_min_views') | int }} then occurred_at end) as triggered_at

    from views
    group by customer_key, product_id, viewed_on
    having max(view_number) >= {{ var('browse_min_views') | int }}

),

recent_browsed as (

    -- Only browses journey_due_steps keeps (triggered within
    -- journey_lookback_days) are matched with later carts and purchases:
    -- that range join over every browse ever was the model's biggest cost.
    select *
    from browsed
    where {{ segue.within_journey_lookback('triggered_at') }}

),

carts_and_purchases as (

    -- Exits of recent browses only: none can come before the first day a
    -- kept browse can start on (views above are read from that day too).
    select
        customer_key,
        occurred_at as happened_at
    from events
    where
        event_name = 'Product Added'
        and occurred_at >= {{ segue.journey_lookback_first_day() }}

    union all

    select
        customer_key,
        purchased_at as happened_at
    from purchases
    where
        customer_key is not null
        and purchased_at >= {{ segue.journey_lookback_first_day() }}

),

exits as (

    select
        recent_browsed.customer_key,
        recent_browsed.product_id,
        recent_browsed.viewed_on,
        min(carts_and_purchases.happened_at) as exit_at

    from recent_browsed
    inner join carts_and_purchases
        on
            recent_browsed.customer_key = carts_and_purchases.customer_key
            and recent_browsed.first_viewed_at <= carts_and_purchases.happened_at
    group by recent_browsed.customer_key, recent_browsed.product_id, recent_browsed.viewed_on

),

instances as (

    select
        recent_browsed.customer_key,
        {{ trigger_id }} as trigger_id,
        recent_browsed.triggered_at,
        exits.exit_at,
        case when exits.exit_at is not null then 'added to cart or purchased' end as exit_reason,
        recent_browsed.product_id as payload_product_ids,
        coalesce(products.product_name, recent_browsed.product_id) as payload_product_names,
        products.category as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from recent_browsed
    left join exits
        on
            recent_browsed.customer_key = exits.customer_key
            and recent_browsed.product_id = exits.product_id
            and recent_browsed.viewed_on = exits.viewed_on
    left join products
        on recent_browsed.product_id = products.product_id

),

{{ segue.journey_due_steps('browse_abandonment', 'instances') }}

select * from final
