{#-
    Post-purchase cross-sell: 7 days after a completed purchase (the step's
    wait), recommend up to var `cross_sell_products` (3) products of the
    purchase's complementary category that are active, in stock online now
    and that the customer never bought, most popular first. A category's
    complement is the other category its buyers most often also buy
    (co-purchase counts over all customers). Exit: the customer bought from
    the complementary category after the purchase.

    Memory (bench/README.md: this model needed about 5.6 GB at 1M customers
    and failed at the 4 GB cap): each purchase's main category and each
    customer's products are tables of their own
    (int_journeys__purchase_categories, int_journeys__customer_products),
    only purchases within journey_lookback_days get recommendations, and
    nothing here needs an operator that cannot spill (no ordered listagg, no
    row_number() <= N). At 100k customers: 825 MB -> 338 MB peak, and it now
    runs under a 150 MB cap.
-#}

{%- set product_id_columns = [] -%}
{%- set product_name_columns = [] -%}
{%- for rank in range(1, (var('cross_sell_products') | int) + 1) -%}
{%- do product_id_columns.append('product_id_' ~ rank) -%}
{%- do product_name_columns.append('product_name_' ~ rank) -%}
{%- endfor %}

with

purchases as (

    select * from {{ ref('int_journeys__purchase_categories') }}

),

customer_products as (

    select * from {{ ref('int_journeys__customer_products') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

inventory as (

    select * from {{ ref('stg_catalog__inventory') }}

),

bought_by_category as (

    -- The categories each customer bought from, and how many of a category's
    -- products: no more of its most popular products than that can be
    -- excluded as already bought.
    select
        customer_key,
        category,
        count(product_id) as products_bought
    from customer_products
    group by customer_key, category

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

    from bought_by_category as bought
    inner join bought_by_category as other_bought
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

purchase_complements as (

    select
        purchases.purchase_id,
        purchases.customer_key,
        purchases.purchased_at,
        complements.complement
    from purchases
    inner join complements
        on purchases.category = complements.category
    -- only purchases journey_due_steps keeps get recommendations and exits
    where {{ segue.within_journey_lookback('purchases.purchased_at') }}

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
    from {{ ref('int_journeys__purchase_lines') }}
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

candidates as (

    -- Only the complement's top (cross_sell_products + products the customer
    -- bought from it) are candidates: pairing every purchase with every
    -- product of its complement made tens of millions of rows
    -- (bench/results.md); the recommendations are the same.
    select
        purchase_complements.purchase_id,
        purchase_complements.customer_key,
        purchase_complements.complement,
        category_products.product_id,
        category_products.product_name,
        -- rank(), not row_number(): the same numbers (a product is a candidate
        -- once per purchase, popularity_rank is unique in its category), but
        -- DuckDB rewrites row_number() <= N into a top-N aggregate that cannot
        -- spill; at 1M customers it ran out of memory at the 4 GB cap.
        rank() over (
            partition by purchase_complements.purchase_id
            order by category_products.popularity_rank
        ) as product_rank

    from purchase_complements
    left join bought_by_category
        on
            purchase_complements.customer_key = bought_by_category.customer_key
            and purchase_complements.complement = bought_by_category.category
    inner join category_products
        on
            purchase_complements.complement = category_products.category
            and category_products.popularity_rank
            <= {{ var('cross_sell_products') | int }} + coalesce(bought_by_category.products_bought, 0)
    left join customer_products as already_bought
        on
            purchase_complements.customer_key = already_bought.customer_key
            and category_products.product_id = already_bought.product_id
    where already_bought.product_id is null

),

ranked_products as (

    -- The top cross_sell_products candidates side by side (ranks are 1..k
    -- without gaps): plain max() aggregates spill to disk, an ordered
    -- listagg over every purchase did not.
    select
        purchase_id,
        customer_key,
        complement,
        {%- for rank in range(1, (var('cross_sell_products') | int) + 1) %}
        max(case when product_rank = {{ rank }} then product_id end) as product_id_{{ rank }},
        max(case when product_rank = {{ rank }} then product_name end) as product_name_{{ rank }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}

    from candidates
    where product_rank <= {{ var('cross_sell_products') | int }}
    group by purchase_id, customer_key, complement

),

recommendations as (

    select
        purchase_id,
        customer_key,
        complement,
        {{ segue.join_present(product_id_columns, "','") }} as payload_product_ids,
        {{ segue.join_present(product_name_columns, "' | '") }} as payload_product_names
    from ranked_products

),

complement_purchase_times as (

    -- When each customer bought from each category (once per instant).
    select distinct
        customer_key,
        category,
        purchased_at
    from {{ ref('int_journeys__purchase_lines') }}
    where customer_key is not null and category is not null

),

exits as (

    select
        purchase_complements.purchase_id,
        min(later.purchased_at) as exit_at

    from purchase_complements
    inner join complement_purchase_times as later
        on
            purchase_complements.customer_key = later.customer_key
            and purchase_complements.complement = later.category
            and purchase_complements.purchased_at < later.purchased_at
    group by purchase_complements.purchase_id

),

instances as (

    select
        purchase_complements.customer_key,
        {{ dbt.concat(["'order:'", 'purchase_complements.purchase_id']) }} as trigger_id,
        purchase_complements.purchased_at as triggered_at,
        exits.exit_at,
        case when exits.exit_at is not null then 'bought from the recommended category' end as exit_reason,
        recommendations.payload_product_ids,
        recommendations.payload_product_names,
        recommendations.complement as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from purchase_complements
    inner join recommendations
        on purchase_complements.purchase_id = recommendations.purchase_id
    left join exits
        on purchase_complements.purchase_id = exits.purchase_id

),

{{ segue.journey_due_steps('cross_sell', 'instances') }}

select * from final
