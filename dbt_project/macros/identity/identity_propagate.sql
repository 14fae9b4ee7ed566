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
    {{- return(adapter.dispatch('identity_propagate', 'segue')(edges, nodes, prefix, passes)) -}}
{%- endmacro %}


{% macro default__identity_propagate(edges, nodes, prefix, passes=none) -%}
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


{#-
    Spark inlines every deterministic CTE at each of its references, before it
    plans: the passes above read the previous pass twice (the step, then the
    jump's self-join), so inlined they grow as 4^passes and Spark's analyzer
    never finishes. Here each pass reads the previous pass once: every node
    has an edge to itself, so one join and one min() over the node and its
    neighbours moves each label one hop. Without the jump a label needs as
    many passes as hops from the component's smallest node, so this version
    runs var identity_propagation_hops passes (the test
    identity_labels_converged still fails when that was not enough). The
    result is the same: each node labelled with the smallest node id of its
    component.
    Spark also inlines a deterministic CTE that several passes read (the
    edges, with the model's whole plan above them, once per pass), but keeps
    a non-deterministic one as one relation: the always-true `rand() >= 0`
    on the edges and on the final labels (read twice by identity_tier_links)
    keeps the plan, and the work, to one copy of each (at 100 customers a
    tier_N_links model went from 520 s to 60 to 100 s, with adaptive
    execution off in profiles.yml).
-#}
{% macro spark__identity_propagate(edges, nodes, prefix, passes=none) -%}
    {%- set passes = passes or var('identity_propagation_hops', 16) | int -%}
{{ prefix }}_both as (

    select
        node_id,
        neighbour_id
    from (
        select node_a as node_id, node_b as neighbour_id from {{ edges }}
        union all
        select node_b as node_id, node_a as neighbour_id from {{ edges }}
        union all
        select node_id, node_id as neighbour_id from {{ nodes }}
    ) as all_sides
    -- always true, but not deterministic: Spark keeps this CTE as one
    -- relation for the passes that read it (see above)
    where rand() >= 0

),

{{ prefix }}_labels_0 as (

    select
        node_id,
        node_id as label
    from {{ nodes }}

),
{%- for i in range(1, passes + 1) %}

{{ prefix }}_labels_{{ i }} as (

    select
        both_sides.node_id,
        min(labels.label) as label
    from {{ prefix }}_both as both_sides
    inner join {{ prefix }}_labels_{{ i - 1 }} as labels
        on both_sides.neighbour_id = labels.node_id
    group by both_sides.node_id

),
{%- endfor %}

{{ prefix }}_labels as (

    select * from {{ prefix }}_labels_{{ passes }}
    -- the same barrier: the model reads the labels more than once
    where rand() >= 0

)
{%- endmacro %}
