{#-
    Online stock episodes per product from the inventory snapshots (location
    `online`): one row per time a product came back in stock (back_in_at, the
    first in-stock snapshot after an out-of-stock one), with out_at (the
    out-of-stock snapshot before it) and out_again_at (the next out-of-stock
    snapshot after it, null while still in stock). Snapshots after "now"
    do not count.
-#}

with

inventory as (

    select * from {{ ref('stg_catalog__inventory') }}

),

snapshots as (

    select
        product_id,
        recorded_at,
        is_in_stock,
        lag(is_in_stock) over (partition by product_id order by recorded_at) as was_in_stock

    from inventory
    where
        is_online
        and recorded_at <= {{ segue.segue_now() }}

),

changes as (

    select
        product_id,
        recorded_at,
        is_in_stock,
        lag(recorded_at) over (partition by product_id order by recorded_at) as previous_change_at,
        lead(recorded_at) over (partition by product_id order by recorded_at) as next_change_at

    from snapshots
    where was_in_stock is null or is_in_stock <> was_in_stock

),

final as (

    select
        product_id,
        previous_change_at as out_at,
        recorded_at as back_in_at,
        next_change_at as out_again_at

    from changes
    where is_in_stock and previous_change_at is not null

)

select * from final
