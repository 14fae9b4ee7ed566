{#-
    The audit of identity resolution: every rule that stopped a value or a
    link, one row per (rule, identifier, other side).

    rule
      blocked_value      a placeholder or blocked value: never a node, never
                         links, not in customer_identifiers
      invalid_value      staging could not normalize an email or phone (one
                         row per model and type, with a count and an example)
      shared_identifier  seen with more accounts than
                         identity_max_accounts_per_identifier (a kiosk, a
                         family device, a household phone): it stays a
                         customer of its own and links nothing
      limit_exceeded     a second customer_id / loyalty_id for one customer
                         (identity_max_per_customer): the later one lost
      conflict_lost      a link whose merge would have broken a limit: the
                         lower-priority identifier kept only its best link
-#}

with

observations as (

    select * from {{ ref('int_identity__observations') }}
    where blocked_reason is not null

),

components as (

    select * from {{ ref('int_identity__components') }}

),

links as (

    {%- for tier in range(2, (var('identity_type_priority') | length) + 1) %}
    {{ "union all" if not loop.first }}
    select * from {{ ref('int_identity__tier_' ~ tier ~ '_links') }}
    where decision != 'linked'
    {%- endfor %}

),

blocked as (

    select
        'blocked_value' as rule,  -- noqa: RF04
        identifier_type,
        identifier_value,
        blocked_reason as detail,
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ dbt.type_string() }}) as other_identifier,
        cast(null as {{ dbt.type_string() }}) as other_customer_key,
        cast(null as {{ dbt.type_int() }}) as tier,
        count(*) as observation_count,
        min(observed_at) as first_seen_at,
        max(coalesce(last_observed_at, observed_at)) as last_seen_at,
        min({{ dbt.concat(['source_table', "' '", 'record_id']) }}) as example_record

    from observations
    group by identifier_type, identifier_value, blocked_reason

),

-- Emails and phones staging could not normalize (is_email_invalid,
-- is_phone_invalid): no identifier at all, so nothing links; counted per
-- model, with one record to look at.
invalid as (

    {%- set flagged = [
        ('stg_shop__customers', 'customer_id', 'updated_at'),
        ('stg_loyalty__members', 'loyalty_id', 'updated_at'),
        ('stg_segment__identifies', 'message_id', 'identified_at'),
        ('stg_pos__transactions', 'transaction_id', 'transacted_at'),
        ('stg_shop__orders', 'order_id', 'ordered_at'),
    ] %}
    {%- for model, key, occurred in flagged %}
    {%- set first_model = loop.first %}
    {%- for identifier_type in ['email', 'phone'] %}
    {{ "union all" if not (loop.first and first_model) }}
    select
        'invalid_value' as rule,  -- noqa: RF04
        '{{ identifier_type }}' as identifier_type,
        cast(null as {{ dbt.type_string() }}) as identifier_value,
        'could not be normalized (staging is_{{ identifier_type }}_invalid); the record links without it' as detail,
        cast(null as {{ dbt.type_string() }}) as customer_key,
        cast(null as {{ dbt.type_string() }}) as other_identifier,
        cast(null as {{ dbt.type_string() }}) as other_customer_key,
        cast(null as {{ dbt.type_int() }}) as tier,
        count(*) as observation_count,
        min({{ occurred }}) as first_seen_at,
        max({{ occurred }}) as last_seen_at,
        min({{ dbt.concat(["'" ~ model ~ " '", key]) }}) as example_record
    from {{ ref(model) }}
    where is_{{ identifier_type }}_invalid
    having count(*) > 0
    {%- endfor %}
    {%- endfor %}

),

link_rules as (

    select
        links.decision as rule,  -- noqa: RF04
        links.identifier_type,
        incoming.identifier_value,
        links.decision_detail as detail,
        incoming.customer_key,
        links.target_component_id as other_identifier,
        target_customer.customer_key as other_customer_key,
        links.tier,
        links.observation_count,
        links.first_observed_at as first_seen_at,
        links.last_observed_at as last_seen_at,
        cast(null as {{ dbt.type_string() }}) as example_record

    from links
    inner join components as incoming
        on links.node_id = incoming.node_id
    inner join components as target_customer
        on links.target_component_id = target_customer.node_id

),

final as (

    select * from blocked
    union all
    select * from invalid
    union all
    select * from link_rules

)

select * from final
