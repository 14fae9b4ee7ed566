with

base_orders as (

    select * from {{ ref('base_shop__orders') }}
    where quarantine_reason is null

),

ranked as (

    -- Orders carry no updated_at. A re-exported order keeps the furthest
    -- status it reached (completed -> cancelled or refunded), then the
    -- latest ordered_at; the remaining columns only break exact ties.
    select
        *,
        row_number() over (
            partition by order_id
            order by
                case status when 'refunded' then 3 when 'cancelled' then 2 else 1 end desc,
                ordered_at desc nulls last,
                total_amount desc nulls last,
                customer_id asc nulls last,
                email asc nulls last,
                phone asc nulls last,
                currency asc nulls last,
                order_source asc nulls last
        ) as version_rank

    from base_orders

),

final as (

    select
        order_id,
        customer_id,
        email,
        phone,
        status,
        currency,
        order_source,
        total_amount,
        is_guest_order,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        ordered_at

    from ranked
    where version_rank = 1

)

select * from final
