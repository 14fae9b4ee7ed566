{#-
    One row per distinct usable identifier (node of the identity graph), with
    when and where it was seen. Blocked values are not nodes: they are listed
    in identity_rule_hits instead.
-#}

with

observations as (

    select * from {{ ref('int_identity__observations') }}
    where blocked_reason is null

),

final as (

    select
        node_id,
        identifier_type,
        identifier_value,
        min(type_rank) as type_rank,
        min(observed_at) as first_seen_at,
        max(coalesce(last_observed_at, observed_at)) as last_seen_at,
        count(*) as observation_count,
        count(distinct source_table) as source_table_count

    from observations
    group by node_id, identifier_type, identifier_value

)

select * from final
