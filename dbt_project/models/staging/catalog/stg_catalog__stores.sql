with

base_stores as (

    select * from {{ ref('base_catalog__stores') }}
    where quarantine_reason is null

),

ranked as (

    -- Stores carry no timestamp: a duplicated store_id keeps its most
    -- complete row, then the first in a fixed column order.
    select
        *,
        row_number() over (
            partition by store_id
            order by
                case when country is null then 1 else 0 end asc,
                case when timezone is null then 1 else 0 end asc,
                store_name asc nulls last,
                city asc nulls last,
                country asc nulls last,
                timezone asc nulls last
        ) as version_rank

    from base_stores

),

final as (

    select
        store_id,
        store_name,
        city,
        country,
        timezone

    from ranked
    where version_rank = 1

)

select * from final
