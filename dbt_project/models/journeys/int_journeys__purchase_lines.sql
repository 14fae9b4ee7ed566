{#- Lines of int_journeys__purchases with their product's category. -#}

with

purchases as (

    select * from {{ ref('int_journeys__purchases') }}

),

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

pos_lines as (

    select * from {{ ref('stg_pos__lines') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

lines as (

    select
        order_id as purchase_id,
        'online' as purchase_channel,
        product_id,
        quantity
    from order_lines

    union all

    select
        transaction_id as purchase_id,
        'store' as purchase_channel,
        product_id,
        quantity
    from pos_lines

),

final as (

    select
        purchases.purchase_id,
        purchases.purchase_channel,
        purchases.customer_key,
        lines.product_id,
        products.category,
        lines.quantity,
        purchases.purchased_at

    from lines
    inner join purchases
        on
            lines.purchase_id = purchases.purchase_id
            and lines.purchase_channel = purchases.purchase_channel
    left join products
        on lines.product_id = products.product_id
    where lines.quantity > 0

)

select * from final
