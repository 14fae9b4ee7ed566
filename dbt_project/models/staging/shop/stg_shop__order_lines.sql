with

base_order_lines as (

    select * from {{ ref('base_shop__order_lines') }}
    where quarantine_reason is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id, line_number
            order by
                product_id asc nulls last,
                quantity desc nulls last,
                unit_price desc nulls last
        ) as version_rank

    from base_order_lines

),

final as (

    select
        order_line_id,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        line_amount

    from ranked
    where version_rank = 1

)

select * from final
