{#-
    Loyalty: two triggers for a member resolved to a customer.
    - Tier upgrade: a version of the member (every usable raw version, from
      base_loyalty__members) whose tier ranks above the previous version's
      (ranks: the order of var `loyalty_tiers`). The trigger is that
      version's updated_at.
    - Points about to expire: a positive balance expires
      var `loyalty_points_expiry_days` (365) after the customer's last
      purchase (or enrolment); the trigger is var
      `loyalty_expiry_warning_days` (30) before. Exit: the points expired.
    Payload: points balance, tier, expiry.
-#}

{%- set points_trigger_id = dbt.concat([
    "'points:'", 'loyalty_id', "':'", 'cast(expire_at as ' ~ dbt.type_string() ~ ')'
]) %}
{%- set last_activity_at -%}
    case
        when last_purchases.last_purchased_at > members.enrolled_at then last_purchases.last_purchased_at
        else members.enrolled_at
    end
{%- endset %}

with

member_versions as (

    select * from {{ ref('base_loyalty__members') }}

),

members as (

    select * from {{ ref('stg_loyalty__members') }}

),

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

purchases as (

    select * from {{ ref('int_journeys__purchases') }}

),

tier_ranks as (

    {%- for tier in var('loyalty_tiers') %}
    select
        '{{ tier }}' as tier,
        {{ loop.index }} as tier_rank
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

versions as (

    select
        member_versions.loyalty_id,
        member_versions.tier,
        member_versions.updated_at,
        tier_ranks.tier_rank,
        lag(tier_ranks.tier_rank) over (
            partition by member_versions.loyalty_id
            order by member_versions.updated_at, member_versions.record_text
        ) as previous_tier_rank

    from member_versions
    inner join tier_ranks
        on member_versions.tier = tier_ranks.tier
    where member_versions.quarantine_reason is null

),

upgrades as (

    select
        identifiers.customer_key,
        {{ dbt.concat(["'tier:'", 'versions.loyalty_id', "':'", 'versions.tier']) }} as trigger_id,
        min(versions.updated_at) as triggered_at,
        cast(null as {{ dbt.type_timestamp() }}) as exit_at,
        cast(null as {{ dbt.type_string() }}) as exit_reason,
        max(members.points_balance) as payload_points_balance,
        versions.tier as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from versions
    inner join identifiers
        on
            identifiers.identifier_type = 'loyalty_id'
            and versions.loyalty_id = identifiers.identifier_value
    left join members
        on versions.loyalty_id = members.loyalty_id
    where versions.tier_rank > versions.previous_tier_rank
    group by identifiers.customer_key, versions.loyalty_id, versions.tier

),

last_purchases as (

    select
        customer_key,
        max(purchased_at) as last_purchased_at
    from purchases
    where customer_key is not null
    group by customer_key

),

expiring as (

    select
        identifiers.customer_key,
        members.loyalty_id,
        members.points_balance,
        members.tier,
        {{ dbt.dateadd(
            'day',
            var('loyalty_points_expiry_days') | int,
            last_activity_at
        ) }} as expire_at

    from members
    inner join identifiers
        on
            identifiers.identifier_type = 'loyalty_id'
            and members.loyalty_id = identifiers.identifier_value
    left join last_purchases
        on identifiers.customer_key = last_purchases.customer_key
    where members.points_balance > 0 and members.enrolled_at is not null

),

points_expiry as (

    select
        customer_key,
        {{ points_trigger_id }} as trigger_id,
        {{ dbt.dateadd('day', -(var('loyalty_expiry_warning_days') | int), 'expire_at') }} as triggered_at,
        expire_at as exit_at,
        'points expired' as exit_reason,
        points_balance as payload_points_balance,
        tier as payload_loyalty_tier,
        expire_at as payload_points_expire_at

    from expiring

),

instances as (

    select
        customer_key,
        trigger_id,
        triggered_at,
        exit_at,
        exit_reason,
        cast(null as {{ dbt.type_string() }}) as payload_product_ids,
        cast(null as {{ dbt.type_string() }}) as payload_product_names,
        cast(null as {{ dbt.type_string() }}) as payload_category,
        payload_points_balance,
        payload_loyalty_tier,
        payload_points_expire_at

    from upgrades

    union all

    select
        customer_key,
        trigger_id,
        triggered_at,
        case when exit_at <= {{ segue.segue_now() }} then exit_at end as exit_at,
        case when exit_at <= {{ segue.segue_now() }} then exit_reason end as exit_reason,
        cast(null as {{ dbt.type_string() }}) as payload_product_ids,
        cast(null as {{ dbt.type_string() }}) as payload_product_names,
        cast(null as {{ dbt.type_string() }}) as payload_category,
        payload_points_balance,
        payload_loyalty_tier,
        payload_points_expire_at

    from points_expiry

),

{{ segue.journey_due_steps('loyalty', 'instances') }}

select * from final
