{#-
    Edges of the identity graph: two usable (not blocked) identifiers seen on
    the same record, one row per record and pair. higher_* is the identifier
    whose type ranks higher in var identity_type_priority; tier is the rank of
    the lower one: the pass of int_identity__tier_<n> that decides the edge.

    Paired straight from int_identity__records, where a record's identifiers
    are its columns: one select per pair of types, no join. (A self-join of
    the observations on source table and record id did the same; at 1M
    customers it was the slowest identity model, bench/results.md.)
    Identifier values are not repeated here (the node ids carry them; join
    int_identity__nodes for type and value).
-#}
{%- set priority = var('identity_type_priority') %}

with

records as (

    select * from {{ ref('int_identity__records') }}

),

paired as (

    {%- for higher in priority %}
    {%- set higher_rank = loop.index %}
    {%- for lower in priority[higher_rank:] %}
    {{ "union all" if not (higher_rank == 1 and loop.first) }}
    select
        source_table,
        record_id,
        observed_at,
        last_observed_at,
        {{ segue.identity_node_id("'" ~ higher ~ "'", higher) }} as higher_node_id,
        {{ segue.identity_node_id("'" ~ lower ~ "'", lower) }} as lower_node_id,
        '{{ lower }}' as lower_type,
        {{ segue.identity_type_rank("'" ~ lower ~ "'") }} as tier
    from records
    where
        {{ higher }} is not null
        and {{ higher }}_blocked_reason is null
        and {{ lower }} is not null
        and {{ lower }}_blocked_reason is null
    {%- endfor %}
    {%- endfor %}

),

final as (

    select * from paired

)

select * from final
