{#-
    Every record of staging that carries identifiers, one row per record
    (wide): each identifier type's value (null when absent) and why it may
    not link (its _blocked_reason; null when it may). Events, consents and
    message events are aggregated per distinct identifier combination first
    (their record_id is the first such row's id), so 30M events cost one
    group-by, not 30M rows here.

    int_identity__observations unpivots it (one row per record and
    identifier) and int_identity__edges pairs a record's usable identifiers
    straight from it: a record's columns are its identifiers, so pairing them
    needs no self-join of the observations on source table and record id
    (that join spilled at 1M customers and was the slowest identity model,
    bench/results.md).
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

flagged as (

    select
        records.source_table,
        records.record_id,
        records.observed_at,
        records.last_observed_at,
        records.customer_id,
        {{ segue.identity_blocked_reason('records', 'customer_id') }} as customer_id_blocked_reason,
        records.loyalty_id,
        {{ segue.identity_blocked_reason('records', 'loyalty_id') }} as loyalty_id_blocked_reason,
        records.email,
        {{ segue.identity_blocked_reason('records', 'email', 'records.is_placeholder_email') }} as email_blocked_reason,
        records.phone,
        {{ segue.identity_blocked_reason('records', 'phone', 'records.is_placeholder_phone') }} as phone_blocked_reason,
        records.anonymous_id,
        {{ segue.identity_blocked_reason('records', 'anonymous_id') }} as anonymous_id_blocked_reason

    from records
    left join blocked_values as blocked_customer_id
        on
            blocked_customer_id.identifier_type = 'customer_id'
            and lower(records.customer_id) = blocked_customer_id.identifier_value
    left join blocked_values as blocked_loyalty_id
        on
            blocked_loyalty_id.identifier_type = 'loyalty_id'
            and lower(records.loyalty_id) = blocked_loyalty_id.identifier_value
    left join blocked_values as blocked_email
        on
            blocked_email.identifier_type = 'email'
            and lower(records.email) = blocked_email.identifier_value
    left join blocked_values as blocked_phone
        on
            blocked_phone.identifier_type = 'phone'
            and lower(records.phone) = blocked_phone.identifier_value
    left join blocked_values as blocked_anonymous_id
        on
            blocked_anonymous_id.identifier_type = 'anonymous_id'
            and lower(records.anonymous_id) = blocked_anonymous_id.identifier_value

),

final as (

    select * from flagged

)

select * from final
