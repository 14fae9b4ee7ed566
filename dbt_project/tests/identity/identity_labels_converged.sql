{{ config(meta={'dagster': {'ref': {'name': 'int_identity__components'}}}) }}

{#-
    Label propagation converged: every link that holds ends in one customer,
    and every link, held back or not, in one raw component
    (int_identity__components.raw_component_id). A row here means var
    identity_propagation_passes was too small for the graph's diameter:
    raise it.
-#}
{%- set last_tier = var('identity_type_priority') | length %}

with

components as (

    select * from {{ ref('int_identity__components') }}

),

links as (

    {%- for tier in range(2, last_tier + 1) %}
    {{ "union all" if not loop.first }}
    select
        node_id,
        target_component_id,
        tier,
        decision
    from {{ ref('int_identity__tier_' ~ tier ~ '_links') }}
    {%- endfor %}

)

-- A link that holds ends in one customer; any link, held back or not, ends in
-- one raw component (incremental identity re-resolves raw components whole).
select
    links.tier,
    links.node_id,
    links.decision,
    incoming.customer_key,
    links.target_component_id,
    target_customer.customer_key as target_customer_key

from links
inner join components as incoming
    on links.node_id = incoming.node_id
inner join components as target_customer
    on links.target_component_id = target_customer.node_id
where
    (links.decision = 'linked' and incoming.customer_key != target_customer.customer_key)
    or incoming.raw_component_id != target_customer.raw_component_id
