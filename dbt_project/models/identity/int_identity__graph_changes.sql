{#-
    Which identifiers this run must resolve again (macros/identity/
    incremental_identity.sql): one row per usable identifier, and one per
    identifier resolved before that is no longer usable (is_removed), with
    its digest and whether it is affected.

    Every identifier is affected on a full build, with identity_incremental
    off, and where incremental identity is not supported. Otherwise the
    previous resolution is int_identity__components as the last run left it
    (read as a relation, not a ref: this model runs before the resolution
    models rebuild it), and an identifier is affected when it is new, gone,
    or its digest differs from the one stored there, or when it belonged to
    the same raw component as such an identifier. An identifier whose digest
    in this model's previous build differs from the stored one is affected
    too: the run that built it stopped before int_identity__components, and
    the resolution models may hold its rows half-way.
-#}

{%- set previous_components = none %}
{%- set previous_changes = none %}
{%- if execute and segue.identity_incremental_enabled() and not flags.FULL_REFRESH %}
    {%- set components_relation = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_identity__components'
    ) %}
    {%- if components_relation is not none %}
        {%- set components_columns = adapter.get_columns_in_relation(components_relation)
            | map(attribute='name') | map('lower') | list %}
        {%- if 'node_digest' in components_columns and 'raw_component_id' in components_columns %}
            {%- set previous_components = components_relation %}
            {%- set previous_changes = adapter.get_relation(
                database=this.database, schema=this.schema, identifier=this.identifier
            ) %}
        {%- endif %}
    {%- endif %}
{%- endif %}

with

nodes as (

    select * from {{ ref('int_identity__nodes') }}

),

edges as (

    select * from {{ ref('int_identity__edges') }}

),

-- Each identifier's edges, both ends, as one order-free digest.
edge_ends as (

    select
        lower_node_id as node_id,
        higher_node_id as other_node_id,
        tier,
        observed_at,
        last_observed_at
    from edges

    union all

    select
        higher_node_id as node_id,
        lower_node_id as other_node_id,
        tier,
        observed_at,
        last_observed_at
    from edges

),

edge_digests as (

    select
        node_id,
        count(*) as edge_count,
        {{ segue.identity_digest_sum(['other_node_id', 'tier', 'observed_at', 'last_observed_at']) }} as edge_digest
    from edge_ends
    group by node_id

),

current_nodes as (

    select
        nodes.node_id,
        {{ segue.identity_digest([
            'nodes.identifier_type',
            'nodes.identifier_value',
            'nodes.type_rank',
            'nodes.first_seen_at',
            'nodes.last_seen_at',
            'nodes.observation_count',
            'nodes.source_table_count',
            'coalesce(edge_digests.edge_count, 0)',
            'edge_digests.edge_digest',
            "'" ~ segue.identity_rules_text() ~ "'",
        ]) }} as node_digest
    from nodes
    left join edge_digests
        on nodes.node_id = edge_digests.node_id

),

{%- if previous_components is none %}

final as (

    select
        node_id,
        node_digest,
        false as is_removed,
        true as is_affected
    from current_nodes

)

{%- else %}

previous_components as (

    select
        node_id,
        node_digest,
        raw_component_id
    from {{ previous_components }}

),

{%- if previous_changes is not none %}

-- This model's previous build, where a later model of that run failed.
half_resolved as (

    select previous_changes.node_id
    from {{ previous_changes }} as previous_changes
    left join previous_components
        on previous_changes.node_id = previous_components.node_id
    where
        -- a removal the resolution did not take in
        (previous_changes.is_removed and previous_components.node_id is not null)
        -- a change it did not take in
        or (
            not previous_changes.is_removed
            and (
                previous_components.node_id is null
                or previous_changes.node_digest != previous_components.node_digest
            )
        )

),

{%- endif %}

changed as (

    select coalesce(current_nodes.node_id, previous_components.node_id) as node_id
    from current_nodes
    full outer join previous_components
        on current_nodes.node_id = previous_components.node_id
    where
        current_nodes.node_id is null
        or previous_components.node_id is null
        or current_nodes.node_digest != previous_components.node_digest
    {%- if previous_changes is not none %}

    union

    select node_id from half_resolved
    {%- endif %}

),

affected_raw_components as (

    select distinct previous_components.raw_component_id
    from changed
    inner join previous_components
        on changed.node_id = previous_components.node_id

),

affected as (

    select node_id from changed

    union

    select previous_components.node_id
    from previous_components
    inner join affected_raw_components
        on previous_components.raw_component_id = affected_raw_components.raw_component_id

),

final as (

    select
        current_nodes.node_id,
        current_nodes.node_digest,
        false as is_removed,
        affected.node_id is not null as is_affected
    from current_nodes
    left join affected
        on current_nodes.node_id = affected.node_id

    union all

    select
        previous_components.node_id,
        previous_components.node_digest,
        true as is_removed,
        true as is_affected
    from previous_components
    where not exists (
        select 1 from current_nodes
        where current_nodes.node_id = previous_components.node_id
    )

)

{%- endif %}

select * from final
