{#-
    Incremental identity resolution (dbt_project/README.md, "Incremental
    builds"). With dbt var identity_incremental true (DuckDB), the resolution
    models (int_identity__tier_<n>_links, int_identity__tier_<n> and
    int_identity__components) are incremental: a run re-resolves only the
    identifiers whose part of the graph changed, and keeps every other row.

    Why that equals a full rebuild: every decision of the tiers (accounts per
    identifier, quotas, conflicts, labels, the customer_key) is a function of
    one connected component of the raw graph (every usable identifier, every
    edge, whatever the rules decided about it). int_identity__graph_changes
    compares each identifier's digest (its node row, the edges it is an end
    of, the identity vars) with the one int_identity__components stored when
    it was last resolved, and marks as affected the changed identifiers and
    every identifier of the raw components they belonged to. That set is
    closed under the current edges (an edge that is new or gone changes both
    ends' digests; an edge that stayed joins two identifiers of one old raw
    component), so re-resolving it alone gives what a full rebuild gives.

    Changing an identity var re-resolves everything through the digests. A
    staging rule change still needs `--full-refresh` of the staging tables
    (as for incremental staging); identity follows from what staging holds.
-#}

{#- Whether this adapter resolves identity incrementally. DuckDB: yes.
    Elsewhere the resolution models are tables whatever the var says (their
    digest columns are null). -#}
{% macro identity_incremental_supported() -%}
    {{ return(adapter.dispatch('identity_incremental_supported', 'segue')()) }}
{%- endmacro %}

{% macro default__identity_incremental_supported() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro duckdb__identity_incremental_supported() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro identity_incremental_enabled() -%}
    {{ return(var('identity_incremental', false) and segue.identity_incremental_supported()) }}
{%- endmacro %}

{#- The config of a resolution model: incremental (append after deleting the
    affected identifiers' rows) when identity_incremental is on, else a
    table. Call it first in the model: when the var is on, it writes the
    model's depends_on comment for int_identity__graph_changes (the affected
    identifiers), so that dbt runs that first. (Off, the tier models do not
    read it, and their unit tests need no input for it.) -#}
{% macro identity_resolution_config() -%}
    {%- if segue.identity_incremental_enabled() %}
-- depends_on: {{ ref('int_identity__graph_changes') }}
        {{ config(
            materialized='incremental',
            incremental_strategy='append',
            on_schema_change='fail',
            pre_hook="{{ segue.identity_delete_affected() }}",
        ) }}
    {%- else -%}
        {{ config(materialized='table') }}
    {%- endif -%}
{%- endmacro %}

{#- True on an incremental run of the calling resolution model. -#}
{% macro identity_resolves_affected_only() -%}
    {#- `this` is none in a dbt unit test: the model's full-build SQL is tested. -#}
    {{ return(this is not none and segue.identity_incremental_enabled() and is_incremental()) }}
{%- endmacro %}

{#- Pre-hook: on an incremental run, delete the rows of the affected
    identifiers (those gone from the graph included) before the model
    appends their re-resolved rows. -#}
{% macro identity_delete_affected() -%}
    {%- if segue.identity_resolves_affected_only() -%}
    delete from {{ this }}
    where node_id in ({{ segue.identity_affected_node_ids() }})
    {%- endif -%}
{%- endmacro %}

{#- The affected identifiers' node ids, as a select. -#}
{% macro identity_affected_node_ids() -%}
    select affected.node_id from {{ ref('int_identity__graph_changes') }} as affected
    where affected.is_affected
{%- endmacro %}

{#- A filter to AND into a resolution model's where clause: on an
    incremental run, `node_column` is an affected identifier; else true. -#}
{% macro identity_affected(node_column) -%}
    {%- if segue.identity_resolves_affected_only() -%}
        {{ node_column }} in ({{ segue.identity_affected_node_ids() }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The identity vars, as text: part of every digest, so changing one
    re-resolves every identifier. -#}
{% macro identity_rules_text() -%}
    {%- set rules = {
        'priority': var('identity_type_priority'),
        'max_per_customer': var('identity_max_per_customer', {}),
        'max_accounts': var('identity_max_accounts_per_identifier', 1),
        'passes': var('identity_propagation_passes', 8),
    } -%}
    {{ return(tojson(rules, sort_keys=true)) }}
{%- endmacro %}

{#- A 64-bit digest of the listed expressions (null where incremental
    identity is not supported). -#}
{% macro identity_digest(expressions) -%}
    {{ return(adapter.dispatch('identity_digest', 'segue')(expressions)) }}
{%- endmacro %}

{% macro default__identity_digest(expressions) -%}
    cast(null as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro duckdb__identity_digest(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{#- The digest of a multiset of rows: the sum of their digests (order-free;
    a changed, added or removed row changes it). -#}
{% macro identity_digest_sum(expressions) -%}
    {{ return(adapter.dispatch('identity_digest_sum', 'segue')(expressions)) }}
{%- endmacro %}

{% macro default__identity_digest_sum(expressions) -%}
    cast(null as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro duckdb__identity_digest_sum(expressions) -%}
    sum(hash({{ expressions | join(', ') }}))
{%- endmacro %}
