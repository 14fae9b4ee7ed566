-- Online accounts as Klaviyo profiles (upsert). Until the profile mart lands
-- this reads staging; point the ref at customer_profiles and keep the columns.
with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

final as (

    select
        customer_id,
        first_name,
        last_name,
        country,
        case when not is_email_invalid and not is_placeholder_email then email end as email,
        case when not is_phone_invalid and not is_placeholder_phone then phone end as phone

    from customers
    where customer_id is not null

)

select * from final
