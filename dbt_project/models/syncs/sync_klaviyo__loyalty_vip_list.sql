-- Gold and platinum loyalty members with an online account, mirrored into a
-- Klaviyo list: Segue adds new members and removes only those it added.
with

members as (

    select * from {{ ref('stg_loyalty__members') }}

),

ranked as (

    select
        customer_id,
        tier,
        case when not is_email_invalid and not is_placeholder_email then email end as email,
        row_number() over (
            partition by customer_id
            order by case tier when 'platinum' then 0 else 1 end asc, loyalty_id asc
        ) as tier_rank

    from members
    where customer_id is not null and tier in ('gold', 'platinum')

),

final as (

    select
        customer_id,
        tier,
        email

    from ranked
    where tier_rank = 1

)

select * from final
