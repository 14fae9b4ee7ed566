{#-
    One pass of identity resolution per identifier type, in priority order
    (var identity_type_priority). Tier n decides every edge whose lower-ranked
    end is the n-th type (the "incoming" identifier, e.g. an email at tier 3),
    given the customers formed by tiers 1..n-1. Because identifiers of the
    n-th type have no edges before tier n, each is still alone when its tier
    starts, so a tier only ever attaches incoming identifiers to existing
    customers, or merges customers through them. Per incoming identifier and
    customer it touches ("candidate link"), the first rule that applies wins:

      shared_identifier  the incoming identifier touches more than
                         identity_max_accounts_per_identifier customers that
                         hold a customer_id (or that hold a loyalty_id...
                         each type of identity_max_per_customer counted
                         apart), or the customer it would join is itself a
                         shared identifier: it links nothing
      limit_exceeded     the incoming type is limited per customer (e.g.
                         loyalty_id: 1) and the customer already took its
                         quota of earlier-seen ones
      conflict_lost      the merge that this tier's links make would give one
                         customer more than its limit of a limited type; the
                         incoming identifiers that bridge customers in it keep
                         only their best link (the customer holding the
                         highest-priority type, then the most observations,
                         then the latest), their other links lose
      linked             the link holds

    identity_tier_links(n) writes the decisions, identity_tier_labels(n) the
    components after the tier.
-#}

{#- The labels before tier `tier` (every identifier alone before tier 2); on
    an incremental run, the affected identifiers' only. -#}
{% macro identity_previous_labels(tier) -%}
    {%- if tier == 2 -%}
    select
        node_id,
        node_id as component_id,
        false as is_shared
    from {{ ref('int_identity__nodes') }}
    {%- else -%}
    select
        node_id,
        component_id,
        is_shared
    from {{ ref('int_identity__tier_' ~ (tier - 1)) }}
    {%- endif %}
    where {{ segue.identity_affected('node_id') }}
{%- endmacro %}


{% macro identity_tier_links(tier) -%}
{%- set limits = var('identity_max_per_customer', {}) -%}
{%- set limited = limits.keys() | list | sort -%}
{%- set max_accounts = var('identity_max_accounts_per_identifier', 1) | int -%}
{%- set incoming_type = var('identity_type_priority')[tier - 1] -%}
{%- set incoming_limit = limits.get(incoming_type) -%}

with

nodes as (

    select * from {{ ref('int_identity__nodes') }}
    where {{ segue.identity_affected('node_id') }}

),

-- On an incremental run the affected identifiers are closed under edges:
-- an edge with one affected end has two.
edges as (

    select * from {{ ref('int_identity__edges') }}
    where tier = {{ tier }} and {{ segue.identity_affected('lower_node_id') }}

),

previous as (

    {{ segue.identity_previous_labels(tier) }}

),

-- What each customer formed so far holds: its count of every limited type,
-- and the rank of its highest-priority identifier.
component_profile as (

    select
        previous.component_id,
        {%- for limited_type in limited %}
        sum(case when nodes.identifier_type = '{{ limited_type }}' then 1 else 0 end) as {{ limited_type }}_count,
        {%- endfor %}
        min(nodes.type_rank) as best_type_rank,
        max(case when previous.is_shared then 1 else 0 end) as is_shared_component

    from previous
    inner join nodes
        on previous.node_id = nodes.node_id
    group by previous.component_id

),

-- One candidate link per incoming identifier and customer it was seen with.
candidates as (

    select
        edges.lower_node_id as node_id,
        edges.lower_type as identifier_type,
        previous.component_id as target_component_id,
        count(*) as observation_count,
        min(edges.observed_at) as first_observed_at,
        max(coalesce(edges.last_observed_at, edges.observed_at)) as last_observed_at

    from edges
    inner join previous
        on edges.higher_node_id = previous.node_id
    group by edges.lower_node_id, edges.lower_type, previous.component_id

),

profiled as (

    select
        candidates.*,
        {%- for limited_type in limited %}
        component_profile.{{ limited_type }}_count as target_{{ limited_type }}_count,
        {%- endfor %}
        component_profile.best_type_rank as target_best_type_rank,
        component_profile.is_shared_component = 1 as is_target_shared

    from candidates
    inner join component_profile
        on candidates.target_component_id = component_profile.component_id

),

-- How many accounts (customers holding a limited type) each incoming
-- identifier was seen with.
accounts as (

    select
        node_id,
        {%- for limited_type in limited %}
        count(distinct case
            when not is_target_shared and target_{{ limited_type }}_count > 0 then target_component_id
        end) as {{ limited_type }}_accounts{{ "," if not loop.last }}
        {%- endfor %}
        {%- if not limited %}
        0 as no_accounts
        {%- endif %}

    from profiled
    group by node_id

),

ruled as (

    select
        profiled.*,
        {%- if limited %}
        (
            {%- for limited_type in limited %}
            {{ "or " if not loop.first }}accounts.{{ limited_type }}_accounts > {{ max_accounts }}
            {%- endfor %}
        )
        {%- else %}
        false
        {%- endif %} as is_shared_identifier,
        {{ segue.identity_counts_text(limited, 'accounts.', '_accounts', ' accounts') }} as accounts_text

    from profiled
    inner join accounts
        on profiled.node_id = accounts.node_id

),

quota as (

    select
        ruled.*,
        {%- if incoming_limit is not none %}
        -- The incoming type is limited per customer: earliest seen first.
        case
            when is_target_shared or is_shared_identifier then null
            else row_number() over (
                partition by target_component_id, is_target_shared, is_shared_identifier
                order by first_observed_at asc, node_id asc
            )
        end > {{ incoming_limit | int }}
        {%- else %}
        false
        {%- endif %} as is_over_limit

    from ruled

),

proposed as (

    select * from quota
    where not is_target_shared and not is_shared_identifier and not coalesce(is_over_limit, false)

),

proposed_edges as (

    select
        node_id as node_a,
        target_component_id as node_b
    from proposed

),

proposed_nodes as (

    select node_a as node_id from proposed_edges
    union
    select node_b as node_id from proposed_edges

),

{{ segue.identity_propagate('proposed_edges', 'proposed_nodes', 'merge') }},

-- The customers the proposed links would make, and whether one of them
-- would hold more than its limit of a limited type.
merged_profile as (

    select
        merge_labels.label as merged_component_id,
        {%- for limited_type in limited %}
        sum(component_profile.{{ limited_type }}_count) as {{ limited_type }}_count,
        {%- endfor %}
        count(*) as merged_components

    from merge_labels
    inner join component_profile
        on merge_labels.node_id = component_profile.component_id
    group by merge_labels.label

),

merged as (

    select
        merged_profile.merged_component_id,
        {%- if limited %}
        (
            {%- for limited_type in limited %}
            {{ "or " if not loop.first }}merged_profile.{{ limited_type }}_count > {{ limits[limited_type] | int }}
            {%- endfor %}
        )
        {%- else %}
        false
        {%- endif %} as is_conflict,
        {{ segue.identity_counts_text(limited, 'merged_profile.', '_count', '') }} as merged_text

    from merged_profile

),

bridges as (

    select
        proposed.node_id,
        proposed.target_component_id,
        count(*) over (partition by proposed.node_id) as proposed_targets,
        row_number() over (
            partition by proposed.node_id
            order by
                proposed.target_best_type_rank asc,
                proposed.observation_count desc,
                proposed.last_observed_at desc,
                proposed.target_component_id asc
        ) as target_rank,
        merge_labels.label as merged_component_id,
        merged.is_conflict,
        merged.merged_text

    from proposed
    inner join merge_labels
        on proposed.node_id = merge_labels.node_id
    inner join merged
        on merge_labels.label = merged.merged_component_id

),

final as (

    select
        {{ tier }} as tier,
        quota.node_id,
        quota.identifier_type,
        quota.target_component_id,
        quota.observation_count,
        quota.first_observed_at,
        quota.last_observed_at,
        case
            when quota.is_target_shared then 'shared_identifier'
            when quota.is_shared_identifier then 'shared_identifier'
            when quota.is_over_limit then 'limit_exceeded'
            when bridges.is_conflict and bridges.target_rank > 1 then 'conflict_lost'
            else 'linked'
        end as decision,
        case
            when quota.is_target_shared then 'the identifier it was seen with is shared and links nothing'
            when quota.is_shared_identifier
                then {{ dbt.concat([
                    "'seen with more than " ~ max_accounts ~ " account(s) ('", "quota.accounts_text", "')'"
                ]) }}
            when quota.is_over_limit
                then 'the customer already holds {{ incoming_limit }} {{ incoming_type }} (earliest seen kept)'
            when bridges.is_conflict and bridges.target_rank > 1
                then {{ dbt.concat([
                    "'merging would give one customer '", "bridges.merged_text",
                    "'; kept only its best link'"
                ]) }}
        end as decision_detail,
        coalesce(bridges.is_conflict, false) as is_conflict,
        bridges.merged_component_id

    from quota
    left join bridges
        on
            quota.node_id = bridges.node_id
            and quota.target_component_id = bridges.target_component_id

)

select * from final
{%- endmacro %}


{% macro identity_tier_labels(tier) -%}

with

previous as (

    {{ segue.identity_previous_labels(tier) }}

),

links as (

    select * from {{ ref('int_identity__tier_' ~ tier ~ '_links') }}
    where {{ segue.identity_affected('node_id') }}

),

-- The customer each customer of the previous tier, and each incoming
-- identifier, belongs to after this tier.
moved as (

    -- customers of the previous tier: merged unless the merge conflicted
    select distinct
        target_component_id as component_id,
        case when is_conflict then target_component_id else merged_component_id end as new_component_id
    from links
    where decision = 'linked'

    union

    -- incoming identifiers (alone until now): with the merge, or in a
    -- conflict with the one customer they kept
    select distinct
        node_id as component_id,
        case when is_conflict then target_component_id else merged_component_id end as new_component_id
    from links
    where decision = 'linked'

),

shared as (

    select distinct node_id
    from links
    where decision = 'shared_identifier' and decision_detail not like 'the identifier it was seen with%'

),

final as (

    select
        previous.node_id,
        coalesce(moved.new_component_id, previous.component_id) as component_id,
        previous.is_shared or shared.node_id is not null as is_shared

    from previous
    left join moved
        on previous.component_id = moved.component_id
    left join shared
        on previous.node_id = shared.node_id

)

select * from final
{%- endmacro %}


{#- 'customer_id accounts: 2; loyalty_id accounts: 1' from count columns. -#}
{% macro identity_counts_text(types, prefix, suffix, label) -%}
    {%- set parts = [] -%}
    {%- for limited_type in types -%}
        {%- do parts.append("'" ~ ("; " if not loop.first else "") ~ limited_type ~ label ~ ": '") -%}
        {%- do parts.append("cast(" ~ prefix ~ limited_type ~ suffix ~ " as " ~ dbt.type_string() ~ ")") -%}
    {%- endfor -%}
    {%- do parts.append("''") -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
