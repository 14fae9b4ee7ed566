{#- Loyalty members without an online account: a loyalty_id and no customer_id. Qualified at enrolment. -#}

with

profiles as (

    select * from {{ ref('customer_profiles') }}

),

members as (

    select * from {{ ref('stg_loyalty__members') }}

),

final as (

    select
        profiles.customer_key,
        coalesce(members.enrolled_at, {{ segue.segue_now() }}) as qualified_at

    from profiles
    left join members
        on profiles.loyalty_id = members.loyalty_id
    where profiles.loyalty_id is not null and profiles.customer_id is null

)

select * from final
