{#-
    Every usable identifier with the customer it resolved to, after the last
    tier, and the customer's stable key.

    customer_key is derived, not stored: it is a hash of the customer's
    earliest-seen identifier (ties: the higher-priority type, then the
    smaller value). The same raw data gives the same keys; a customer that
    gains identifiers keeps its key unless one of them was seen earlier; when
    two customers merge, the merged customer keeps the key of the one seen
    first (the older key). See README.md, "Identity: stable keys".

    It is also the state incremental identity compares the next run with
    (int_identity__graph_changes): each identifier's node_digest as resolved,
    and its raw_component_id, the smallest component id of its raw component
    (customers joined by every link the rules held back: shared
    identifiers, limits, lost conflicts). Null where incremental identity is
    not supported (macros/identity/incremental_identity.sql).
-#}
{{ segue.identity_resolution_config() }}
{%- set last_tier = var('identity_type_priority') | length %}

with

nodes as (

    select * from {{ ref('int_identity__nodes') }}
    where {{ segue.identity_affected('node_id') }}

),

graph_changes as (

    select * from {{ ref('int_identity__graph_changes') }}
    where not is_removed and {{ segue.identity_affected('node_id') }}

),

labels as (

    select * from {{ ref('int_identity__tier_' ~ last_tier) }}
    where {{ segue.identity_affected('node_id') }}

),

{%- if segue.identity_incremental_supported() %}

-- Every link a tier held back, between the customers at its two ends.
held_back as (

    {%- for tier in range(2, last_tier + 1) %}
    {{ "union all" if not loop.first }}
    select
        node_id,
        target_component_id
    from {{ ref('int_identity__tier_' ~ tier ~ '_links') }}
    where decision != 'linked' and {{ segue.identity_affected('node_id') }}
    {%- endfor %}

),

raw_edges as (

    select distinct
        incoming_labels.component_id as node_a,
        target_labels.component_id as node_b
    from held_back
    inner join labels as incoming_labels
        on held_back.node_id = incoming_labels.node_id
    inner join labels as target_labels
        on held_back.target_component_id = target_labels.node_id
    where incoming_labels.component_id != target_labels.component_id

),

raw_nodes as (

    select node_a as node_id from raw_edges
    union
    select node_b as node_id from raw_edges

),

{{ segue.identity_propagate('raw_edges', 'raw_nodes', 'raw') }},

{%- endif %}

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
        resolved.observation_count,
        graph_changes.node_digest,
        {%- if segue.identity_incremental_supported() %}
        coalesce(raw_labels.label, resolved.component_id) as raw_component_id
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as raw_component_id
        {%- endif %}

    from resolved
    inner join keys
        on resolved.component_id = keys.component_id
    inner join graph_changes
        on resolved.node_id = graph_changes.node_id
    {%- if segue.identity_incremental_supported() %}
    left join raw_labels
        on resolved.component_id = raw_labels.node_id
    {%- endif %}

)

select * from final
