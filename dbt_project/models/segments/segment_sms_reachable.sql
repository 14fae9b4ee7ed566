{#- SMS-reachable: the profile's phone holds a current SMS opt-in. Qualified when that opt-in was recorded. -#}

with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

consent as (

    select * from {{ ref('int_consent__address_state') }}

),

final as (

    select
        profiles.customer_key,
        consent.status_changed_at as qualified_at
    from profiles
    inner join consent
        on
            consent.channel = 'sms'
            and consent.identifier_type = 'phone'
            and profiles.phone = consent.identifier_value
    where consent.is_opted_in

)

select * from final
