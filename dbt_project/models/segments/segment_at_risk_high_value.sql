{#- At-risk high value: lifetime revenue at or above percentile var `segment_high_value_percentile` (0.75) and no purchase for var `segment_at_risk_after_days` (60) but not yet lapsed (var `segment_lapsed_after_days`, 120). Qualified when the 60 days passed. -#}

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
        {{ dbt.dateadd('day', var('segment_at_risk_after_days') | int, 'last_order_at') }} as qualified_at

    from ranked
    where
        revenue_percentile >= {{ var('segment_high_value_percentile') }}
        and last_order_at <= {{ dbt.dateadd('day', -(var('segment_at_risk_after_days') | int), segue.segue_now()) }}
        and last_order_at > {{ dbt.dateadd('day', -(var('segment_lapsed_after_days') | int), segue.segue_now()) }}

)

select * from final
