{#-
    Every product a resolved customer ever bought, once, with its category:
    journey_cross_sell's co-purchase counts and its "never bought" rule read
    this instead of every purchase line.
-#}

with

lines as (

    select * from {{ ref('int_journeys__purchase_lines') }}

),

final as (

    select distinct
        customer_key,
        category,
        product_id

    from lines
    where customer_key is not null and category is not null

)

select * from final
