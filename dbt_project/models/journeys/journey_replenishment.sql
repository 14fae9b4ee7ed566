{#-
    Replenishment: a category's typical repurchase interval (the median gap,
    in hours, between two consecutive purchases of the category by the same
    customer; only categories with at least var `replenishment_min_intervals`
    gaps) has passed since the customer's last purchase of it. The trigger is
    that moment; the instance is (category, last purchase), so a new purchase
    of the category starts a new one. Payload: the products last bought in it.
-#}

with

lines as (

    select * from {{ ref('int_journeys__purchase_lines') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

category_purchases as (

    select distinct
        customer_key,
        category,
        purchase_id,
        purchased_at
    from lines
    where customer_key is not null and category is not null

),

sequenced as (

    select
        *,
        lag(purchased_at) over (partition by customer_key, category order by purchased_at, purchase_id) as previous_at,
        row_number() over (
            partition by customer_key, category order by purchased_at desc, purchase_id desc
        ) as recency

    from category_purchases

),

intervals as (

    select
        category,
        {{ segue.median(dbt.datediff('previous_at', 'purchased_at', 'hour')) }} as median_hours,
        count(*) as gaps

    from sequenced
    where previous_at is not null and purchased_at > previous_at
    group by category
    having count(*) >= {{ var('replenishment_min_intervals') | int }}

),

last_bought as (

    select
        sequenced.purchase_id,
        sequenced.customer_key,
        sequenced.category,
        sequenced.purchased_at,
        {{ segue.round_to_int('intervals.median_hours') }} as median_hours

    from sequenced
    inner join intervals
        on sequenced.category = intervals.category
    where sequenced.recency = 1

),

due_last_bought as (

    -- Only triggers journey_due_steps keeps (within journey_lookback_days)
    -- get their product lists: the ordered listagg over every customer's
    -- every category was most of this model's memory.
    select
        *,
        {{ dbt.dateadd('hour', 'median_hours', 'purchased_at') }} as triggered_at
    from last_bought

),

recent_last_bought as (

    select *
    from due_last_bought
    where {{ segue.within_journey_lookback('triggered_at') }}

),

last_products as (

    select distinct
        recent_last_bought.purchase_id,
        recent_last_bought.category,
        lines.product_id,
        coalesce(products.product_name, lines.product_id) as product_name

    from recent_last_bought
    inner join lines
        on
            recent_last_bought.purchase_id = lines.purchase_id
            and recent_last_bought.category = lines.category
    left join products
        on lines.product_id = products.product_id

),

payloads as (

    select
        purchase_id,
        category,
        {{ dbt.listagg('product_id', "','", 'order by product_id') }} as payload_product_ids,
        {{ dbt.listagg('product_name', "' | '", 'order by product_id') }} as payload_product_names

    from last_products
    group by purchase_id, category

),

instances as (

    select
        recent_last_bought.customer_key,
        {{ dbt.concat([
            "'replenish:'", 'recent_last_bought.category', "':'", 'recent_last_bought.purchase_id'
        ]) }} as trigger_id,
        recent_last_bought.triggered_at,
        cast(null as {{ dbt.type_timestamp() }}) as exit_at,
        cast(null as {{ dbt.type_string() }}) as exit_reason,
        payloads.payload_product_ids,
        payloads.payload_product_names,
        recent_last_bought.category as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from recent_last_bought
    inner join payloads
        on
            recent_last_bought.purchase_id = payloads.purchase_id
            and recent_last_bought.category = payloads.category

),

{{ segue.journey_due_steps('replenishment', 'instances') }}

select * from final
