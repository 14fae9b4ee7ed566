with

base_transactions as (

    select * from {{ ref('base_pos__transactions') }}
    where quarantine_reason is null

),

ranked as (

    -- A re-exported receipt: keep the latest version of it.
    select
        *,
        row_number() over (
            partition by transaction_id
            order by
                transacted_at desc,
                total_amount desc nulls last,
                store_id asc nulls last,
                loyalty_id asc nulls last,
                email asc nulls last,
                phone asc nulls last,
                currency asc nulls last
        ) as version_rank

    from base_transactions

),

final as (

    select
        transaction_id,
        store_id,
        loyalty_id,
        email,
        phone,
        currency,
        total_amount,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        transacted_at

    from ranked
    where version_rank = 1

)

select * from final
