with

base_customers as (

    select * from {{ ref('base_shop__customers') }}
    where quarantine_reason is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by
                updated_at desc nulls last,
                created_at desc nulls last,
                email asc nulls last,
                phone asc nulls last,
                first_name asc nulls last,
                last_name asc nulls last,
                country asc nulls last
        ) as version_rank

    from base_customers

),

final as (

    select
        customer_id,
        email,
        phone,
        first_name,
        last_name,
        country,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        created_at,
        updated_at

    from ranked
    where version_rank = 1

)

select * from final
