-- SMS-reachable customers (a current SMS opt-in on their phone) as Attentive
-- custom attributes, upserted by phone with clientUserId = customer_key: the
-- traits Attentive journeys and segments personalize with. Nobody is
-- subscribed by this sync; consent stays where it was given.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

reachable as (

    select * from {{ ref('segment_sms_reachable') }}

),

final as (

    select
        profiles.customer_key,
        profiles.phone,
        profiles.email,
        profiles.first_name,
        profiles.loyalty_tier,
        profiles.points_balance,
        profiles.rfm_segment

    from profiles
    inner join reachable
        on profiles.customer_key = reachable.customer_key
    where profiles.phone is not null

)

select * from final
