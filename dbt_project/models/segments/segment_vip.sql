{#- VIP / champions: lifetime revenue in the top share (percentile var `segment_vip_revenue_percentile`, 0.90, among customers who bought) and a purchase in the last var `segment_vip_active_days` (365). Qualified at their last order. -#}

with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

ranked as (

    select
        customer_key,
        last_order_at,
        percent_rank() over (order by lifetime_revenue) as revenue_percentile

    from profiles
    where orders_count > 0

),

final as (

    select
        customer_key,
        last_order_at as qualified_at
    from ranked
    where
        revenue_percentile >= {{ var('segment_vip_revenue_percentile') }}
        and last_order_at > {{ dbt.dateadd('day', -(var('segment_vip_active_days') | int), segue.segue_now()) }}

)

select * from final
