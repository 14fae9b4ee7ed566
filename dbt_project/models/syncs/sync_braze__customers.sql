-- Every resolved customer with an address, as a Braze user (upsert on
-- external_id = customer_key through /users/track): the golden record plus the
-- loyalty and RFM traits as custom attributes.
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
