{#-
    Cart abandonment (CONTRACT §4.5). A cart is the run of a customer's
    `Product Added` events between two completed purchases (online or in
    store); its items are the products whose last event in the cart is an add
    (a cart whose items were all removed is emptied, not abandoned). The
    trigger is the cart's last add; the cart counts as abandoned from its
    first step's wait (1 h) after it, for the journey's window (168 h). Steps: email at +1 h, on-site banner at +1 h, SMS at +24 h.
    Exit: any completed purchase after the last add (exit_at). The trigger
    instance is the cart's first add, so adding more items keeps its id.

    Only carts journey_due_steps keeps (last add within
    journey_lookback_days) are built, from the history that can hold them:
    customers with an add in the lookback, and only their events after their
    last purchase at or before its start (a purchase closes every cart before
    it, so no kept cart holds an earlier event). At 1M customers the
    timeline is 2.0M rows instead of every add, remove and purchase (6.5M),
    and the model takes 40% less CPU (bench/results.md).
-#}

{%- set trigger_id = dbt.concat([
    "'cart:'", 'carts.customer_key', "':'", 'cast(carts.first_add_at as ' ~ dbt.type_string() ~ ')'
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

recent_adders as (

    select distinct customer_key
    from events
    where
        event_name = 'Product Added'
        and {{ segue.within_journey_lookback('occurred_at') }}

),

history_starts as (

    -- The last purchase at or before the lookback's start (null: none); the
    -- carts that can be kept hold only later events.
    select
        recent_adders.customer_key,
        max(purchases.purchased_at) as history_start
    from recent_adders
    left join purchases
        on
            recent_adders.customer_key = purchases.customer_key
            and purchases.purchased_at <= {{ segue.journey_lookback_start() }}
    group by recent_adders.customer_key

),

timeline as (

    select
        events.customer_key,
        events.occurred_at as happened_at,
        case when events.event_name = 'Product Added' then 'add' else 'remove' end as kind,
        events.product_id,
        events.event_id as row_id
    from events
    inner join history_starts
        on events.customer_key = history_starts.customer_key
    where
        events.event_name in ('Product Added', 'Product Removed')
        and (history_starts.history_start is null or events.occurred_at > history_starts.history_start)

    union all

    select
        purchases.customer_key,
        purchases.purchased_at as happened_at,
        'purchase' as kind,
        null as product_id,
        purchases.purchase_id as row_id
    from purchases
    inner join history_starts
        on purchases.customer_key = history_starts.customer_key
    where history_starts.history_start is null or purchases.purchased_at > history_starts.history_start

),

numbered as (

    -- cart_number: purchases so far; a purchase closes the cart before it.
    select
        *,
        sum(case when kind = 'purchase' then 1 else 0 end) over (
            partition by customer_key
            order by happened_at, case kind when 'purchase' then 1 else 0 end, row_id
            rows between unbounded preceding and current row
        ) as purchases_so_far

    from timeline

),

cart_events as (

    select
        customer_key,
        case when kind = 'purchase' then purchases_so_far - 1 else purchases_so_far end as cart_number,
        kind,
        product_id,
        happened_at,
        row_id

    from numbered

),

carts as (

    select
        customer_key,
        cart_number,
        min(case when kind = 'add' then happened_at end) as first_add_at,
        max(case when kind = 'add' then happened_at end) as last_add_at,
        min(case when kind = 'purchase' then happened_at end) as closed_at

    from cart_events
    group by customer_key, cart_number

),

item_events as (

    select
        customer_key,
        cart_number,
        product_id,
        kind,
        row_number() over (
            partition by customer_key, cart_number, product_id
            order by happened_at desc, row_id desc
        ) as recency

    from cart_events
    where kind in ('add', 'remove')

),

items as (

    select
        item_events.customer_key,
        item_events.cart_number,
        item_events.product_id,
        products.product_name

    from item_events
    left join products
        on item_events.product_id = products.product_id
    where item_events.recency = 1 and item_events.kind = 'add'

),

recent_carts as (

    -- Only carts journey_due_steps keeps (last add within
    -- journey_lookback_days) get their item lists: the ordered listagg over
    -- every cart ever was half of this model's CPU (bench/README.md).
    select
        customer_key,
        cart_number
    from carts
    where {{ segue.within_journey_lookback('last_add_at') }}

),

cart_items as (

    select
        items.customer_key,
        items.cart_number,
        {{ dbt.listagg('items.product_id', "','", 'order by items.product_id') }} as payload_product_ids,
        {{ dbt.listagg("coalesce(items.product_name, items.product_id)", "' | '", 'order by items.product_id') }}
            as payload_product_names

    from items
    inner join recent_carts
        on
            items.customer_key = recent_carts.customer_key
            and items.cart_number = recent_carts.cart_number
    group by items.customer_key, items.cart_number

),

instances as (

    select
        carts.customer_key,
        {{ trigger_id }} as trigger_id,
        carts.last_add_at as triggered_at,
        carts.closed_at as exit_at,
        case when carts.closed_at is not null then 'purchase completed since the last add' end as exit_reason,
        cart_items.payload_product_ids,
        cart_items.payload_product_names,
        cast(null as {{ dbt.type_string() }}) as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from carts
    inner join cart_items
        on
            carts.customer_key = cart_items.customer_key
            and carts.cart_number = cart_items.cart_number
    where carts.last_add_at is not null

),

{{ segue.journey_due_steps('cart_abandonment', 'instances') }}

select * from final
