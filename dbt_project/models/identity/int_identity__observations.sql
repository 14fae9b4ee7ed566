{#-
    Every identifier observed in staging, one row per (record, identifier):
    the nodes of the identity graph and the evidence for each edge. Events,
    consents and message events are aggregated per distinct identifier
    combination first (their record_id is the first such row's id), so 30M
    events cost one group-by, not 60M rows here.
    blocked_reason is null when the value may link; else why it may not.
-#}

with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

loyalty_members as (

    select * from {{ ref('stg_loyalty__members') }}

),

identifies as (

    select * from {{ ref('stg_segment__identifies') }}

),

pos_transactions as (

    select * from {{ ref('stg_pos__transactions') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

events as (

    select * from {{ ref('stg_segment__events') }}

),

consents as (

    select * from {{ ref('stg_consent__consents') }}

),

message_events as (

    select * from {{ ref('stg_esp__message_events') }}

),

blocked_values as (

    select distinct
        identifier_type,
        lower(identifier_value) as identifier_value
    from {{ segue.blocked_identifier_values() }} as blocked_seed

),

-- One row per record with every identifier it carries (null when absent),
-- and the staging placeholder flags.
records as (

    select
        'stg_shop__customers' as source_table,
        customer_id as record_id,
        coalesce(created_at, updated_at) as observed_at,
        updated_at as last_observed_at,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        email,
        phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        is_placeholder_email,
        is_placeholder_phone
    from customers

    union all

    select
        'stg_loyalty__members' as source_table,
        loyalty_id as record_id,
        coalesce(enrolled_at, updated_at) as observed_at,
        updated_at as last_observed_at,
        customer_id,
        loyalty_id,
        email,
        phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        is_placeholder_email,
        is_placeholder_phone
    from loyalty_members

    union all

    select
        'stg_segment__identifies' as source_table,
        message_id as record_id,
        identified_at as observed_at,
        identified_at as last_observed_at,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        email,
        phone,
        anonymous_id,
        is_placeholder_email,
        is_placeholder_phone
    from identifies

    union all

    select
        'stg_pos__transactions' as source_table,
        transaction_id as record_id,
        transacted_at as observed_at,
        transacted_at as last_observed_at,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        loyalty_id,
        email,
        phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        is_placeholder_email,
        is_placeholder_phone
    from pos_transactions

    union all

    select
        'stg_shop__orders' as source_table,
        order_id as record_id,
        ordered_at as observed_at,
        ordered_at as last_observed_at,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        email,
        phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        is_placeholder_email,
        is_placeholder_phone
    from orders

    union all

    -- A device seen as an account in track calls: one row per distinct pair.
    select
        'stg_segment__events' as source_table,
        min(event_id) as record_id,
        min(occurred_at) as observed_at,
        max(occurred_at) as last_observed_at,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as phone,
        anonymous_id,
        false as is_placeholder_email,
        false as is_placeholder_phone
    from events
    group by customer_id, anonymous_id

    union all

    -- The device that completed an order, with the order's identifiers
    -- (a guest checkout's email and phone, or the account).
    select
        'stg_segment__events' as source_table,
        {{ dbt.concat(['events.event_id', "' order '", 'orders.order_id']) }} as record_id,
        events.occurred_at as observed_at,
        events.occurred_at as last_observed_at,
        coalesce(orders.customer_id, events.customer_id) as customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        orders.email,
        orders.phone,
        events.anonymous_id,
        orders.is_placeholder_email,
        orders.is_placeholder_phone
    from events
    inner join orders
        on events.order_id = orders.order_id
    where
        events.event_name = 'Order Completed'
        and events.anonymous_id is not null
        and (events.customer_id is null or orders.customer_id is null or events.customer_id = orders.customer_id)

    union all

    select
        'stg_consent__consents' as source_table,
        min(consent_id) as record_id,
        min(recorded_at) as observed_at,
        max(recorded_at) as last_observed_at,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        case when identifier_type = 'email' then identifier_value end as email,
        case when identifier_type = 'phone' then identifier_value end as phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        false as is_placeholder_email,
        false as is_placeholder_phone
    from consents
    where identifier_type in ('email', 'phone')
    group by identifier_type, identifier_value

    union all

    select
        'stg_esp__message_events' as source_table,
        min(event_id) as record_id,
        min(occurred_at) as observed_at,
        max(occurred_at) as last_observed_at,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        case when channel = 'email' then identifier_value end as email,
        case when channel = 'sms' then identifier_value end as phone,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        false as is_placeholder_email,
        false as is_placeholder_phone
    from message_events
    where channel in ('email', 'sms')
    group by channel, identifier_value

),

unpivoted as (

    {%- set columns = [
        ('customer_id', 'false'),
        ('loyalty_id', 'false'),
        ('email', 'is_placeholder_email'),
        ('phone', 'is_placeholder_phone'),
        ('anonymous_id', 'false'),
    ] %}
    {%- for column, flag in columns %}
    {{ "union all" if not loop.first }}
    select
        source_table,
        record_id,
        observed_at,
        last_observed_at,
        '{{ column }}' as identifier_type,
        {{ column }} as identifier_value,
        {{ flag }} as is_staging_placeholder
    from records
    where {{ column }} is not null
    {%- endfor %}

),

flagged as (

    select
        unpivoted.*,
        case
            when unpivoted.is_staging_placeholder then 'placeholder (staging)'
            when blocked_values.identifier_value is not null then 'blocked value (seed blocked_identifier_values)'
            when
                unpivoted.identifier_type = 'email'
                and {{ segue.is_placeholder_email_pattern('unpivoted.identifier_value') }}
                then 'placeholder pattern (placeholder_email_local_parts / domains)'
            when
                unpivoted.identifier_type = 'phone'
                and {{ segue.is_placeholder_phone_pattern(
                    'substr(unpivoted.identifier_value, 2)', 'unpivoted.identifier_value', 'null'
                ) }}
                then 'placeholder pattern (one digit repeated)'
            when
                unpivoted.identifier_type in ('customer_id', 'loyalty_id', 'anonymous_id')
                and {{ segue.identity_is_blocked_id('unpivoted.identifier_value') }}
                then 'blocked pattern (identity_blocked_id_patterns)'
        end as blocked_reason

    from unpivoted
    left join blocked_values
        on
            unpivoted.identifier_type = blocked_values.identifier_type
            and lower(unpivoted.identifier_value) = blocked_values.identifier_value

),

final as (

    select
        source_table,
        record_id,
        identifier_type,
        identifier_value,
        {{ segue.identity_node_id('identifier_type', 'identifier_value') }} as node_id,
        {{ segue.identity_type_rank('identifier_type') }} as type_rank,
        blocked_reason,
        observed_at,
        last_observed_at

    from flagged

)

select * from final
