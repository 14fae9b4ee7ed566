{#-
    Connected components by label propagation, in plain SQL.

    edges   a CTE name with columns (node_a, node_b): undirected edges.
    nodes   a CTE name with column (node_id): every node (isolated ones too).
    prefix  a prefix for the CTE names this macro writes.

    Writes CTEs <prefix>_labels_0 .. <prefix>_labels_<passes> (node_id, label)
    and ends with <prefix>_labels: each node with the smallest node id of its
    component, once enough passes ran. Each pass takes the smallest label
    among a node and its neighbours, then jumps once (label := label of the
    label), so a path of length d converges in about log2(d) + 2 passes.
    var identity_propagation_passes sets the number of passes (unrolled here:
    no procedural loop, any adapter); the dbt test identity_labels_converged
    fails when it was not enough.
    Emits a leading comma-separated list of CTEs (call it after another CTE).
-#}
{% macro identity_propagate(edges, nodes, prefix, passes=none) -%}
    {%- set passes = passes or var('identity_propagation_passes', 8) | int -%}
{{ prefix }}_both as (

    select node_a as node_id, node_b as neighbour_id from {{ edges }}
    union all
    select node_b as node_id, node_a as neighbour_id from {{ edges }}

),

{{ prefix }}_labels_0 as (

    select
        node_id,
        node_id as label
    from {{ nodes }}

),
{%- for i in range(1, passes + 1) %}

{{ prefix }}_smallest_{{ i }} as (

    select
        both_sides.node_id,
        min(labels.label) as label
    from {{ prefix }}_both as both_sides
    inner join {{ prefix }}_labels_{{ i - 1 }} as labels
        on both_sides.neighbour_id = labels.node_id
    group by both_sides.node_id

),

{{ prefix }}_stepped_{{ i }} as (

    select
        labels.node_id,
        case
            when smallest.label < labels.label then smallest.label
            else labels.label
        end as label
    from {{ prefix }}_labels_{{ i - 1 }} as labels
    left join {{ prefix }}_smallest_{{ i }} as smallest
        on labels.node_id = smallest.node_id

),

{{ prefix }}_labels_{{ i }} as (

    select
        stepped.node_id,
        case
            when jumped.label < stepped.label then jumped.label
            else stepped.label
        end as label
    from {{ prefix }}_stepped_{{ i }} as stepped
    inner join {{ prefix }}_stepped_{{ i }} as jumped
        on stepped.label = jumped.node_id

),
{%- endfor %}

{{ prefix }}_labels as (

    select * from {{ prefix }}_labels_{{ passes }}

)
{%- endmacro %}
