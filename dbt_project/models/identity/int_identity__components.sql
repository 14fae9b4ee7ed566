{#-
    Every usable identifier with the customer it resolved to, after the last
    tier, and the customer's stable key.

    customer_key is derived, not stored: it is a hash of the customer's
    earliest-seen identifier (ties: the higher-priority type, then the
    smaller value). The same raw data gives the same keys; a customer that
    gains identifiers keeps its key unless one of them was seen earlier; when
    two customers merge, the merged customer keeps the key of the one seen
    first (the older key). See README.md, "Identity: stable keys".
-#}
{%- set last_tier = var('identity_type_priority') | length %}

with

nodes as (

    select * from {{ ref('int_identity__nodes') }}

),

labels as (

    select * from {{ ref('int_identity__tier_' ~ last_tier) }}

),

resolved as (

    select
        nodes.*,
        labels.component_id,
        labels.is_shared,
        row_number() over (
            partition by labels.component_id
            order by nodes.first_seen_at asc nulls last, nodes.type_rank asc, nodes.node_id asc
        ) as age_rank,
        count(*) over (partition by labels.component_id) as component_size

    from nodes
    inner join labels
        on nodes.node_id = labels.node_id

),

keys as (

    select
        component_id,
        node_id as key_node_id,
        {{ dbt.concat(["'cus_'", "substr(" ~ dbt.hash('node_id') ~ ", 1, 20)"]) }} as customer_key

    from resolved
    where age_rank = 1

),

final as (

    select
        resolved.node_id,
        resolved.identifier_type,
        resolved.identifier_value,
        keys.customer_key,
        resolved.component_id,
        keys.key_node_id,
        resolved.component_size,
        resolved.is_shared,
        resolved.type_rank,
        resolved.first_seen_at,
        resolved.last_seen_at,
        resolved.observation_count

    from resolved
    inner join keys
        on resolved.component_id = keys.component_id

)

select * from final
