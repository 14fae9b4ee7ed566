{#-
    Edges of the identity graph: two usable (not blocked) identifiers seen on
    the same record, one row per record and pair. higher_* is the identifier
    whose type ranks higher in var identity_type_priority; tier is the rank of
    the lower one: the pass of int_identity__tier_<n> that decides the edge.
    Identifier values are not repeated here (the node ids carry them; join
    int_identity__nodes for type and value): at 1M customers the edges are
    13.7M rows, and the two values and the higher type were a third of the
    join's CPU and 40% of its spill (bench/results.md).
-#}

with

observations as (

    select * from {{ ref('int_identity__observations') }}
    where blocked_reason is null

),

paired as (

    select
        higher.source_table,
        higher.record_id,
        higher.observed_at,
        higher.last_observed_at,
        higher.node_id as higher_node_id,
        lower_side.node_id as lower_node_id,
        lower_side.identifier_type as lower_type,
        lower_side.type_rank as tier

    from observations as higher
    inner join observations as lower_side
        on
            higher.source_table = lower_side.source_table
            and higher.record_id = lower_side.record_id
            and higher.type_rank < lower_side.type_rank

),

final as (

    select * from paired

)

select * from final
