{#-
    Post-purchase cross-sell: 7 days after a completed purchase (the step's
    wait), recommend up to var `cross_sell_products` (3) products of the
    purchase's complementary category that are active, in stock online now
    and that the customer never bought, most popular first. A category's
    complement is the other category its buyers most often also buy
    (co-purchase counts over all customers). Exit: the customer bought from
    the complementary category after the purchase.
-#}

with

lines as (

    select * from {{ ref('int_journeys__purchase_lines') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

inventory as (

    select * from {{ ref('stg_catalog__inventory') }}

),

customer_categories as (

    select distinct
        customer_key,
        category
    from lines
    where customer_key is not null and category is not null

),

co_purchases as (

    select
        bought.category,
        other_bought.category as complement,
        count(*) as customers,
        row_number() over (
            partition by bought.category
            order by count(*) desc, other_bought.category
        ) as complement_rank

    from customer_categories as bought
    inner join customer_categories as other_bought
        on
            bought.customer_key = other_bought.customer_key
            and bought.category <> other_bought.category
    group by bought.category, other_bought.category

),

complements as (

    select
        category,
        complement
    from co_purchases
    where complement_rank = 1

),

purchase_categories as (

    -- the purchase's main category: most lines, then name
    select
        purchase_id,
        customer_key,
        purchased_at,
        category,
        row_number() over (
            partition by purchase_id
            order by count(*) desc, category
        ) as category_rank

    from lines
    where customer_key is not null and category is not null
    group by purchase_id, customer_key, purchased_at, category

),

latest_online_stock as (

    select product_id
    from inventory
    where is_online and is_latest and is_in_stock

),

popularity as (

    select
        product_id,
        count(*) as times_bought
    from lines
    group by product_id

),

category_products as (

    -- What each category can recommend (active, in stock online now), most
    -- popular first: the same order for every purchase.
    select
        products.category,
        products.product_id,
        products.product_name,
        row_number() over (
            partition by products.category
            order by coalesce(popularity.times_bought, 0) desc, products.product_id
        ) as popularity_rank

    from products
    inner join latest_online_stock
        on products.product_id = latest_online_stock.product_id
    left join popularity
        on products.product_id = popularity.product_id
    where products.is_active

),

bought_by_category as (

    -- How many of a category's products a customer ever bought: no more of
    -- its most popular products than that can be excluded as already bought.
    select
        customer_key,
        category,
        count(distinct product_id) as products_bought
    from lines
    where customer_key is not null and category is not null
    group by customer_key, category

),

candidates as (

    -- Only the complement's top (cross_sell_products + products the customer
    -- bought from it) are candidates: pairing every purchase with every
    -- product of its complement made tens of millions of rows
    -- (bench/results.md); the recommendations are the same.
    select
        purchase_categories.purchase_id,
        purchase_categories.customer_key,
        complements.complement,
        category_products.product_id,
        category_products.product_name,
        row_number() over (
            partition by purchase_categories.purchase_id
            order by category_products.popularity_rank
        ) as product_rank

    from purchase_categories
    inner join complements
        on purchase_categories.category = complements.category
    left join bought_by_category
        on
            purchase_categories.customer_key = bought_by_category.customer_key
            and complements.complement = bought_by_category.category
    inner join category_products
        on
            complements.complement = category_products.category
            and category_products.popularity_rank
            <= {{ var('cross_sell_products') | int }} + coalesce(bought_by_category.products_bought, 0)
    left join lines as already_bought
        on
            purchase_categories.customer_key = already_bought.customer_key
            and category_products.product_id = already_bought.product_id
    where
        purchase_categories.category_rank = 1
        and already_bought.product_id is null

),

recommendations as (

    select
        purchase_id,
        customer_key,
        complement,
        {{ dbt.listagg('product_id', "','", 'order by product_rank') }} as payload_product_ids,
        {{ dbt.listagg('product_name', "' | '", 'order by product_rank') }} as payload_product_names

    from candidates
    where product_rank <= {{ var('cross_sell_products') | int }}
    group by purchase_id, customer_key, complement

),

exits as (

    select
        purchase_categories.purchase_id,
        min(later.purchased_at) as exit_at

    from purchase_categories
    inner join complements
        on purchase_categories.category = complements.category
    inner join lines as later
        on
            purchase_categories.customer_key = later.customer_key
            and complements.complement = later.category
            and purchase_categories.purchased_at < later.purchased_at
    where purchase_categories.category_rank = 1
    group by purchase_categories.purchase_id

),

instances as (

    select
        purchase_categories.customer_key,
        {{ dbt.concat(["'order:'", 'purchase_categories.purchase_id']) }} as trigger_id,
        purchase_categories.purchased_at as triggered_at,
        exits.exit_at,
        case when exits.exit_at is not null then 'bought from the recommended category' end as exit_reason,
        recommendations.payload_product_ids,
        recommendations.payload_product_names,
        recommendations.complement as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from purchase_categories
    inner join recommendations
        on purchase_categories.purchase_id = recommendations.purchase_id
    left join exits
        on purchase_categories.purchase_id = exits.purchase_id
    where purchase_categories.category_rank = 1

),

{{ segue.journey_due_steps('cross_sell', 'instances') }}

select * from final
