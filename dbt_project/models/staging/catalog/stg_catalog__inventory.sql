with

base_inventory as (

    select * from {{ ref('base_catalog__inventory') }}
    where quarantine_reason is null

),

deduplicated as (

    -- One snapshot per product, location and instant. Two different counts
    -- at the same instant keep the lower one (never promise stock twice).
    select
        *,
        row_number() over (
            partition by product_id, location_id, recorded_at
            order by quantity_on_hand asc nulls last
        ) as snapshot_rank

    from base_inventory

),

snapshots as (

    select * from deduplicated
    where snapshot_rank = 1

),

ranked as (

    select
        *,
        row_number() over (
            partition by product_id, location_id
            order by recorded_at desc
        ) as recency_rank

    from snapshots

),

final as (

    select
        {{ dbt.concat([
            'product_id', "'|'", 'location_id', "'|'", 'cast(recorded_at as ' ~ dbt.type_string() ~ ')'
        ]) }} as inventory_snapshot_id,
        product_id,
        location_id,
        location_id = 'online' as is_online,
        quantity_on_hand,
        quantity_on_hand > 0 as is_in_stock,
        recency_rank = 1 as is_latest,
        recorded_at

    from ranked

)

select * from final
