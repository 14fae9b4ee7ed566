{#-
    Every identifier observed in staging, one row per (record, identifier):
    the nodes of the identity graph and the evidence for each edge.
    int_identity__records holds the same records one row each (wide), with
    why each identifier may not link; this unpivots them.
    blocked_reason is null when the value may link; else why it may not.

    A view: its readers (int_identity__nodes, identity_rule_hits, `segue
    explain`) unpivot the records as they scan them, which costs about what
    scanning a stored copy does, and storing the 20M rows (at 1M customers)
    cost more than building the records (bench/results.md, session 14).
-#}
{{ config(materialized='view') }}
{%- set columns = ['customer_id', 'loyalty_id', 'email', 'phone', 'anonymous_id'] %}

with

records as (

    select * from {{ ref('int_identity__records') }}

),

unpivoted as (

    {%- for column in columns %}
    {{ "union all" if not loop.first }}
    select
        source_table,
        record_id,
        '{{ column }}' as identifier_type,
        {{ column }} as identifier_value,
        {{ segue.identity_node_id("'" ~ column ~ "'", column) }} as node_id,
        {{ segue.identity_type_rank("'" ~ column ~ "'") }} as type_rank,
        {{ column }}_blocked_reason as blocked_reason,
        observed_at,
        last_observed_at
    from records
    where {{ column }} is not null
    {%- endfor %}

),

final as (

    select * from unpivoted

)

select * from final
