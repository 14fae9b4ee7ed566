-- Every resolved customer with an address, as a Klaviyo profile (upsert by
-- external_id = customer_key): the golden record and the traits the email
-- templates personalize with.
with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

final as (

    select
        customer_key,
        email,
        phone,
        first_name,
        last_name,
        country,
        loyalty_tier,
        points_balance,
        rfm_segment

    from profiles
    where email is not null or phone is not null

)

select * from final
