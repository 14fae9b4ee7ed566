{#-
    Each purchase's main category (most lines, then name) with its customer:
    what journey_cross_sell recommends against. A table of its own so the
    cross-sell query does not hold every purchase line in memory at once
    (bench/README.md: 5.6 GB at 1M customers before the split).
-#}

with

lines as (

    select * from {{ ref('int_journeys__purchase_lines') }}

),

purchase_categories as (

    select
        purchase_id,
        customer_key,
        purchased_at,
        category,
        row_number() over (
            partition by purchase_id
            order by count(*) desc, category
        ) as category_rank

    from lines
    where customer_key is not null and category is not null
    group by purchase_id, customer_key, purchased_at, category

),

final as (

    select
        purchase_id,
        customer_key,
        purchased_at,
        category
    from purchase_categories
    where category_rank = 1

)

select * from final
