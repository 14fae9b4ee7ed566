{#-
    What already went out to each customer on email or sms, for the frequency
    cap (CONTRACT §4.2): `sent` rows of raw.message_events (by address,
    resolved through marts.customer_identifiers; a row whose message_id is an
    action_id in the delivery log is that delivery, counted once), and the
    actions segue.action_deliveries says were delivered (statuses in var
    `settled_delivery_statuses`), mapped to their customer through the
    journey candidates. Transactional and on-site steps do not count.
-#}

with

message_events as (

    select * from {{ ref('stg_esp__message_events') }}

),

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

deliveries as (

    select * from {{ ref('stg_segue__action_deliveries') }}

),

candidates as (

    select * from {{ ref('int_journeys__candidates') }}

),

from_esp as (

    select
        identifiers.customer_key,
        message_events.channel,
        'message_events' as counted_from,
        message_events.event_id as reference_id,
        message_events.occurred_at as sent_at

    from message_events
    inner join identifiers
        on
            message_events.identifier_value = identifiers.identifier_value
            and identifiers.identifier_type = case message_events.channel when 'sms' then 'phone' else 'email' end
    left join deliveries
        on message_events.message_id = deliveries.action_id
    where
        message_events.event_name = 'sent'
        and message_events.channel in ('email', 'sms')
        and message_events.occurred_at <= {{ segue.segue_now() }}
        and deliveries.action_id is null

),

from_deliveries as (

    select
        candidates.customer_key,
        candidates.channel_rule as channel,
        'action_deliveries' as counted_from,
        deliveries.action_id as reference_id,
        coalesce(deliveries.delivered_at, candidates.due_at) as sent_at

    from deliveries
    inner join candidates
        on deliveries.action_id = candidates.action_id
    where
        deliveries.is_settled_send
        and candidates.channel_rule <> 'onsite'
        and not candidates.is_transactional

),

final as (

    select * from from_esp
    union all
    select * from from_deliveries

)

select * from final
