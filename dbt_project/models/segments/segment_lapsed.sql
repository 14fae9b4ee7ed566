{#- Lapsed: bought before, nothing for var `segment_lapsed_after_days` (120). Qualified when the 120 days passed. -#}

with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

final as (

    select
        customer_key,
        {{ dbt.dateadd('day', var('segment_lapsed_after_days') | int, 'last_order_at') }} as qualified_at

    from profiles
    where
        orders_count > 0
        and last_order_at <= {{ dbt.dateadd('day', -(var('segment_lapsed_after_days') | int), segue.segue_now()) }}

)

select * from final
