{#-
    RFM scores, 1 to 5, among customers with at least one counted purchase.
    Each score is the customer's quintile by rank:
    1 + floor(5 * (rank - 1) / customers), where rank orders customers from
    the worst to the best value (recency: the oldest last order first, so the
    most recent buyers score 5; frequency: fewest orders first; monetary:
    lowest lifetime revenue first). Ties share a rank, hence a score: when
    most customers bought once, they all score frequency 1 and the next
    score used may be 4 or 5. A single customer scores 1, 1, 1.
    The named segment comes from seed rfm_segments (recency x frequency).
-#}

with

summary as (

    select * from {{ ref('int_profiles__order_summary') }}

),

segments as (

    select * from {{ ref('rfm_segments') }}

),

ranked as (

    select
        customer_key,
        rank() over (order by last_order_at asc) as recency_rank,
        rank() over (order by orders_count asc) as frequency_rank,
        rank() over (order by lifetime_revenue asc) as monetary_rank,
        count(*) over () as customers

    from summary

),

scored as (

    select
        customer_key,
        1 + cast(floor(5.0 * (recency_rank - 1) / customers) as {{ dbt.type_int() }}) as recency_score,
        1 + cast(floor(5.0 * (frequency_rank - 1) / customers) as {{ dbt.type_int() }}) as frequency_score,
        1 + cast(floor(5.0 * (monetary_rank - 1) / customers) as {{ dbt.type_int() }}) as monetary_score

    from ranked

),

final as (

    select
        scored.customer_key,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        {{ dbt.concat([
            dbt.safe_cast('scored.recency_score', dbt.type_string()),
            dbt.safe_cast('scored.frequency_score', dbt.type_string()),
            dbt.safe_cast('scored.monetary_score', dbt.type_string()),
        ]) }} as rfm_score,
        segments.rfm_segment

    from scored
    left join segments
        on
            scored.recency_score = segments.recency_score
            and scored.frequency_score = segments.frequency_score

)

select * from final
