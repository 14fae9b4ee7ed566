-- Segment membership as a signed webhook feed: one record per customer per
-- segment, mirrored, so the receiver gets `added` when a customer enters a
-- segment and `removed` when they leave.
with

memberships as (

    select * from {{ ref('segment_memberships') }}

),

final as (

    select
        {{ dbt.concat(["segment", "'|'", "customer_key"]) }} as membership_key,
        segment,
        customer_key,
        entered_at

    from memberships

)

select * from final
