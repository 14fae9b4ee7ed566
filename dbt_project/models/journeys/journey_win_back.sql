{#-
    Win-back: no completed purchase (online or in store) in
    var `winback_after_days` (120), after at least var `winback_min_orders`
    (2). The trigger is the moment the customer lapsed (last purchase + 120
    days); the instance is the last purchase, so buying again ends it (a new
    last purchase, a new instance later). Steps: email, then best channel a
    week later.
-#}

with

purchases as (

    select * from {{ ref('int_journeys__purchases') }}

),

customers as (

    select
        customer_key,
        count(*) as purchases_count,
        max(purchased_at) as last_purchased_at

    from purchases
    where customer_key is not null
    group by customer_key

),

instances as (

    select
        customer_key,
        {{ dbt.concat(["'lapsed:'", 'cast(last_purchased_at as ' ~ dbt.type_string() ~ ')']) }} as trigger_id,
        {{ dbt.dateadd('day', var('winback_after_days') | int, 'last_purchased_at') }} as triggered_at,
        cast(null as {{ dbt.type_timestamp() }}) as exit_at,
        cast(null as {{ dbt.type_string() }}) as exit_reason,
        cast(null as {{ dbt.type_string() }}) as payload_product_ids,
        cast(null as {{ dbt.type_string() }}) as payload_product_names,
        cast(null as {{ dbt.type_string() }}) as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from customers
    where purchases_count >= {{ var('winback_min_orders') | int }}

),

{{ segue.journey_due_steps('win_back', 'instances') }}

select * from final
