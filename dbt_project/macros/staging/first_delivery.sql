{#-
    One row per key of an event log that loaders may deliver more than once
    (a replayed event_id is one event): the first delivery, by `order_by`.

    relation  the CTE holding the deliveries (one row each)
    key       the column naming the event (event_id)
    order_by  the ranking, a list of "column asc|desc [nulls last]" strings,
              first delivery first; list every column the model keeps, so the
              choice never depends on the warehouse's row order

    Only keys delivered more than once are ranked; the others pass through (a
    window over every row cost far more than the base view itself;
    bench/results.md). Replays are found by grouping a 64-bit hash of the key
    (segue.key_hash), not the key text: a hash collision only sends two
    single deliveries through the ranking, where each still ranks first.
    Emits CTEs to place after the caller's own, the last one
    `first_deliveries`: `relation`'s columns plus delivery_rank (1), one row
    per key.

    Usage, inside a model's `with`:

        {{ segue.first_delivery('base_events', 'event_id', ['occurred_at asc', ...]) }},

        final as (select ... from first_deliveries)
-#}
{% macro first_delivery(relation, key, order_by) -%}
replayed as (

    -- Keys delivered more than once: only their rows are ranked.
    select {{ segue.key_hash(key) }} as key_hash
    from {{ relation }}
    group by {{ segue.key_hash(key) }}
    having count(*) > 1

),

single_deliveries as (

    select
        {{ relation }}.*,
        1 as delivery_rank
    from {{ relation }}
    where {{ segue.key_hash(relation ~ '.' ~ key) }} not in (select replayed.key_hash from replayed)

),

ranked_deliveries as (

    select
        *,
        row_number() over (
            partition by {{ key }}
            order by
                {%- for column in order_by %}
                {{ column }}{{ "," if not loop.last }}
                {%- endfor %}
        ) as delivery_rank

    from {{ relation }}
    where {{ segue.key_hash(key) }} in (select replayed.key_hash from replayed)

),

first_deliveries as (

    select * from single_deliveries
    union all
    select * from ranked_deliveries
    where delivery_rank = 1

)
{%- endmacro %}
