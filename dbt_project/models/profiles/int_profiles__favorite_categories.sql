{#-
    Per customer: the product category they bought most, from the lines of
    their counted purchases (online and in store). "Most" is the most units;
    ties go to the category with the larger spend, then the one bought most
    recently, then the first by name. Lines of products missing from the
    catalog (or without a category) do not count.
-#}

with

purchases as (

    select * from {{ ref('int_profiles__purchases') }}
    where is_counted and customer_key is not null

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
        quantity,
        line_amount
    from order_lines

    union all

    select
        transaction_id as purchase_id,
        'store' as purchase_channel,
        product_id,
        quantity,
        line_amount
    from pos_lines

),

category_totals as (

    select
        purchases.customer_key,
        products.category,
        sum(lines.quantity) as units,
        sum(lines.line_amount) as spend,
        max(purchases.purchased_at) as last_bought_at

    from lines
    inner join purchases
        on
            lines.purchase_id = purchases.purchase_id
            and lines.purchase_channel = purchases.purchase_channel
    inner join products
        on lines.product_id = products.product_id
    where products.category is not null
    group by purchases.customer_key, products.category

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_key
            order by units desc, spend desc nulls last, last_bought_at desc, category asc
        ) as category_rank

    from category_totals

),

final as (

    select
        customer_key,
        category as favorite_category,
        units as favorite_category_units

    from ranked
    where category_rank = 1

)

select * from final
