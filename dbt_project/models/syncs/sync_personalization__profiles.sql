-- What the website needs about every resolved customer, for the personalization
-- API (mirror by customer_key: a customer who leaves the model leaves the store):
-- every identifier the customer holds (so a visitor is found by email, phone,
-- account, loyalty card or device), segments, loyalty tier and points, and the
-- next on-site journey step decided `send` with its products that are in stock
-- online now. Lists are JSON arrays, built by aggregation in the warehouse.
{%- set now = segue.segue_now() %}

with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

memberships as (

    select * from {{ ref('segment_memberships') }}

),

actions as (

    select * from {{ ref('journey_actions') }}

),

products as (

    select * from {{ ref('stg_catalog__products') }}

),

inventory as (

    select * from {{ ref('stg_catalog__inventory') }}

),

identifier_lists as (

    select
        customer_key,
        {{ segue.json_array_agg('identifier_value', 'identifier_value', "identifier_type = 'email'") }}
            as identifier_emails,
        {{ segue.json_array_agg('identifier_value', 'identifier_value', "identifier_type = 'phone'") }}
            as identifier_phones,
        {{ segue.json_array_agg('identifier_value', 'identifier_value', "identifier_type = 'customer_id'") }}
            as identifier_customer_ids,
        {{ segue.json_array_agg('identifier_value', 'identifier_value', "identifier_type = 'loyalty_id'") }}
            as identifier_loyalty_ids,
        {{ segue.json_array_agg('identifier_value', 'identifier_value', "identifier_type = 'anonymous_id'") }}
            as identifier_anonymous_ids

    from identifiers
    group by customer_key

),

segment_lists as (

    select
        customer_key,
        {{ segue.json_array_agg('segment', 'segment') }} as segments

    from memberships
    group by customer_key

),

onsite_actions as (

    select
        action_id,
        customer_key,
        journey,
        step,
        scheduled_for,
        payload_category,
        payload_product_ids,
        row_number() over (
            partition by customer_key
            order by scheduled_for asc, journey_priority asc, action_id asc
        ) as action_rank

    from actions
    where channel = 'onsite' and decision = 'send'

),

next_actions as (

    select * from onsite_actions
    where action_rank = 1

),

online_snapshots as (

    select
        product_id,
        is_in_stock,
        row_number() over (partition by product_id order by recorded_at desc) as recency_rank

    from inventory
    where is_online and recorded_at <= {{ now }}

),

in_stock_products as (

    select
        products.product_id,
        products.product_name,
        products.category,
        products.price

    from products
    inner join online_snapshots
        on products.product_id = online_snapshots.product_id
    where
        online_snapshots.recency_rank = 1
        and online_snapshots.is_in_stock
        and coalesce(products.is_active, true)

),

action_products as (

    -- payload_product_ids is a comma-separated list; keep its order
    select
        next_actions.action_id,
        in_stock_products.product_id,
        in_stock_products.product_name,
        in_stock_products.category,
        in_stock_products.price,
        {{ dbt.position(
            dbt.concat(["','", 'in_stock_products.product_id', "','"]),
            dbt.concat(["','", 'next_actions.payload_product_ids', "','"])
        ) }} as product_position

    from next_actions
    inner join in_stock_products
        on
            {{ dbt.concat(["','", 'next_actions.payload_product_ids', "','"]) }}
            like {{ dbt.concat(["'%,'", 'in_stock_products.product_id', "',%'"]) }}

),

product_lists as (

    select
        action_id,
        {{ segue.json_object_array_agg(
            {'product_id': 'product_id', 'name': 'product_name', 'category': 'category', 'price': 'price'},
            'product_position'
        ) }} as products

    from action_products
    group by action_id

),

final as (

    select
        profiles.customer_key,
        identifier_lists.identifier_emails,
        identifier_lists.identifier_phones,
        identifier_lists.identifier_customer_ids,
        identifier_lists.identifier_loyalty_ids,
        identifier_lists.identifier_anonymous_ids,
        profiles.first_name,
        profiles.country,
        profiles.rfm_segment,
        profiles.favorite_category,
        profiles.loyalty_tier,
        profiles.points_balance,
        next_actions.action_id as next_action_id,
        next_actions.journey as next_action_journey,
        next_actions.step as next_action_step,
        next_actions.scheduled_for as next_action_scheduled_for,
        next_actions.payload_category as next_action_category,
        coalesce(segment_lists.segments, '[]') as segments,
        case
            when next_actions.action_id is not null then coalesce(product_lists.products, '[]')
        end as next_action_products

    from profiles
    inner join identifier_lists
        on profiles.customer_key = identifier_lists.customer_key
    left join segment_lists
        on profiles.customer_key = segment_lists.customer_key
    left join next_actions
        on profiles.customer_key = next_actions.customer_key
    left join product_lists
        on next_actions.action_id = product_lists.action_id

)

select * from final
