with

base_members as (

    select * from {{ ref('base_loyalty__members') }}
    where quarantine_reason is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by loyalty_id
            order by
                updated_at desc nulls last,
                enrolled_at desc nulls last,
                customer_id asc nulls last,
                email asc nulls last,
                phone asc nulls last,
                tier asc nulls last,
                points_balance desc nulls last,
                home_store_id asc nulls last
        ) as version_rank

    from base_members

),

final as (

    select
        loyalty_id,
        customer_id,
        home_store_id,
        email,
        phone,
        tier,
        points_balance,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        enrolled_at,
        updated_at

    from ranked
    where version_rank = 1

)

select * from final
