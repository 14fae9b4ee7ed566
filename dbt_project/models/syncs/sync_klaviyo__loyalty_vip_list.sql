-- Gold and platinum loyalty customers, mirrored into a Klaviyo list: Segue adds
-- new members and removes only those it added. Points earned in store count,
-- since the tier is the resolved customer's.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

final as (

    select
        customer_key,
        loyalty_tier,
        email

    from profiles
    where loyalty_tier in ('gold', 'platinum') and email is not null

)

select * from final
