{#-
    Per customer: what they bought, from the counted purchases (completed
    online orders and in-store transactions up to as-of, zero-amount ones
    included). Only customers with at least one counted purchase have a row.
-#}

with

purchases as (

    select * from {{ ref('int_profiles__purchases') }}
    where is_counted and customer_key is not null

),

summary as (

    select
        customer_key,
        count(*) as orders_count,
        sum(case when purchase_channel = 'online' then 1 else 0 end) as online_orders_count,
        sum(case when purchase_channel = 'store' then 1 else 0 end) as store_transactions_count,
        coalesce(sum(total_amount), 0) as lifetime_revenue,
        min(purchased_at) as first_order_at,
        max(purchased_at) as last_order_at

    from purchases
    group by customer_key

),

final as (

    select
        customer_key,
        orders_count,
        online_orders_count,
        store_transactions_count,
        lifetime_revenue,
        lifetime_revenue / orders_count as average_order_value,
        first_order_at,
        last_order_at

    from summary

)

select * from final
