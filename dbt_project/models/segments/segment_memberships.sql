{{ config(
    schema='marts',
    pre_hook=[
        "{{ segue.previous_version_hook(this, 'drop') }}",
        "{{ segue.previous_version_hook(this, 'copy') }}",
    ],
    post_hook="{{ segue.previous_version_hook(this, 'drop') }}",
) }}

{#-
    One row per customer per segment (CONTRACT §3), the union of the
    segment_ models. entered_at survives reruns: a customer who was already
    in the segment in this table's previous build keeps the time they
    entered (this model reads its own last version, when there is one: on
    Spark a copy its pre-hooks make, macros/cross_db/previous_version.sql); a
    newcomer gets the time they qualified (never after now). Someone who left
    and comes back enters anew.
-#}

{%- set segments = [
    'vip', 'at_risk_high_value', 'lapsed', 'new_customers',
    'loyalty_without_account', 'email_engaged', 'sms_reachable',
] -%}
{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none -%}
{%- set now = segue.segue_now() %}

with

current_members as (
    {%- for segment in segments %}

    select
        cast('{{ segment }}' as {{ dbt.type_string() }}) as segment,
        customer_key,
        case when qualified_at is null or qualified_at > {{ now }} then {{ now }} else qualified_at end as qualified_at

    from {{ ref('segment_' ~ segment) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

{% if previous is not none %}
previous_members as (

    select segment, customer_key, entered_at
    from {{ segue.previous_version(previous) }}
    where entered_at <= {{ now }}

),
{% else %}
previous_members as (

    select
        cast(null as {{ dbt.type_string() }}) as segment,
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ dbt.type_timestamp() }}) as entered_at
    where 1 = 0

),
{% endif %}

final as (

    select
        current_members.segment,
        current_members.customer_key,
        coalesce(previous_members.entered_at, current_members.qualified_at) as entered_at,
        {{ now }} as evaluated_at

    from current_members
    left join previous_members
        on
            current_members.segment = previous_members.segment
            and current_members.customer_key = previous_members.customer_key

)

select * from final
