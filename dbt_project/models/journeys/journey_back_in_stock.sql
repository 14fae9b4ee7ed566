{#-
    Back in stock: a product the customer wishlisted (`Product Added to
    Wishlist`) or removed from their cart (`Product Removed`) within
    var `back_in_stock_interest_days` (60) before it came back in stock online
    (int_journeys__online_stock). The trigger is the back-in-stock snapshot.
    Exit: the product is out of stock online again, or the customer bought
    it after coming back.
-#}

{%- set trigger_id = dbt.concat([
    "'restock:'", 'returns.product_id', "':'", 'cast(returns.back_in_at as ' ~ dbt.type_string() ~ ')'
]) %}

with

events as (

    select * from {{ ref('int_journeys__shopping_events') }}

),

stock as (

    select * from {{ ref('int_journeys__online_stock') }}

),

lines as (

    select * from {{ ref('int_journeys__purchase_lines') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

interest as (

    select
        customer_key,
        product_id,
        occurred_at as interested_at

    from events
    where
        event_name in ('Product Added to Wishlist', 'Product Removed')
        -- the earliest interest a kept restock (below) can count
        and occurred_at > {{ dbt.dateadd(
            'day', -(var('back_in_stock_interest_days') | int), segue.journey_lookback_start()
        ) }}

),

returns as (

    select distinct
        interest.customer_key,
        stock.product_id,
        stock.back_in_at,
        stock.out_again_at

    from interest
    inner join stock
        on
            interest.product_id = stock.product_id
            and interest.interested_at < stock.back_in_at
            and interest.interested_at
            >= {{ dbt.dateadd('day', -(var('back_in_stock_interest_days') | int), 'stock.back_in_at') }}
    -- only restocks journey_due_steps keeps (within journey_lookback_days)
    where {{ segue.within_journey_lookback('stock.back_in_at') }}

),

bought_after as (

    select
        returns.customer_key,
        returns.product_id,
        returns.back_in_at,
        min(lines.purchased_at) as purchased_at

    from returns
    inner join lines
        on
            returns.customer_key = lines.customer_key
            and returns.product_id = lines.product_id
            and returns.back_in_at <= lines.purchased_at
    group by returns.customer_key, returns.product_id, returns.back_in_at

),

instances as (

    select
        returns.customer_key,
        {{ trigger_id }} as trigger_id,
        returns.back_in_at as triggered_at,
        case
            when returns.out_again_at is null then bought_after.purchased_at
            when bought_after.purchased_at is null then returns.out_again_at
            when bought_after.purchased_at < returns.out_again_at then bought_after.purchased_at
            else returns.out_again_at
        end as exit_at,
        case
            when returns.out_again_at is null and bought_after.purchased_at is null then null
            when bought_after.purchased_at is null then 'out of stock again'
            when returns.out_again_at is null or bought_after.purchased_at < returns.out_again_at
                then 'product purchased'
            else 'out of stock again'
        end as exit_reason,
        returns.product_id as payload_product_ids,
        coalesce(products.product_name, returns.product_id) as payload_product_names,
        products.category as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from returns
    left join bought_after
        on
            returns.customer_key = bought_after.customer_key
            and returns.product_id = bought_after.product_id
            and returns.back_in_at = bought_after.back_in_at
    left join products
        on returns.product_id = products.product_id
    where coalesce(products.is_active, true)

),

{{ segue.journey_due_steps('back_in_stock', 'instances') }}

select * from final
