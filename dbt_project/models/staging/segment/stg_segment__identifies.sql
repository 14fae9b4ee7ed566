with

base_identifies as (

    select * from {{ ref('base_segment__identifies') }}
    where quarantine_reason is null

),

ranked as (

    -- A message_id delivered twice is one call: keep the first delivery.
    select
        *,
        row_number() over (
            partition by message_id
            order by
                identified_at asc,
                anonymous_id asc nulls last,
                customer_id asc nulls last,
                email asc nulls last,
                phone asc nulls last
        ) as delivery_rank

    from base_identifies

),

final as (

    select
        message_id,
        anonymous_id,
        customer_id,
        email,
        phone,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        identified_at

    from ranked
    where delivery_rank = 1

)

select * from final
