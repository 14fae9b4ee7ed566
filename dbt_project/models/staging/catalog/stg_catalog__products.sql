with

base_products as (

    select * from {{ ref('base_catalog__products') }}
    where quarantine_reason is null

),

ranked as (

    select
        *,
        row_number() over (
            partition by product_id
            order by
                updated_at desc nulls last,
                product_name asc nulls last,
                category asc nulls last,
                brand asc nulls last,
                price desc nulls last,
                is_active desc nulls last
        ) as version_rank

    from base_products

),

final as (

    select
        product_id,
        product_name,
        category,
        brand,
        price,
        is_active,
        updated_at

    from ranked
    where version_rank = 1

)

select * from final
