{#- New customers: first purchase within the last var `segment_new_customer_days` (30). Qualified at that purchase. -#}

with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

final as (

    select
        customer_key,
        first_order_at as qualified_at
    from profiles
    where
        first_order_at <= {{ segue.segue_now() }}
        and first_order_at > {{ dbt.dateadd('day', -(var('segment_new_customer_days') | int), segue.segue_now()) }}

)

select * from final
