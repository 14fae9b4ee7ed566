{#-
    Current consent per (channel, identifier_type, identifier_value) at the
    as-of instant (CONTRACT §2). Two logs decide it:

    - stg_consent__consents: opted_in / opted_out rows;
    - stg_esp__message_events: `unsubscribed`, `bounced` (a hard bounce) and
      `complained` withdraw consent for that address and channel;
    - stg_segue__sms_opt_outs: a send a destination refused because the
      number replied STOP (Twilio 21610) withdraws SMS consent for it.

    Per address and channel the latest of these holds, so an opt-in recorded
    after an unsubscribe restores consent. Only rows at or before segue_now()
    count. An address with no row has no consent (it is simply absent here:
    join with a left join and read a missing row as not opted in). Push is its
    own channel: a push opt-in is never email or sms consent.

    Ties at the same instant: a withdrawal beats an opt-in (never send on a
    doubt), then a message event beats a consent row, then the larger id wins
    (deterministic).
-#}

with

consents as (

    select * from {{ ref('stg_consent__consents') }}

),

message_events as (

    select * from {{ ref('stg_esp__message_events') }}

),

sms_opt_outs as (

    select * from {{ ref('stg_segue__sms_opt_outs') }}

),

consent_decisions as (

    select
        channel,
        identifier_type,
        identifier_value,
        is_opted_in,
        status as decided_by_event,
        'consents' as decided_by,
        consent_id as decided_by_id,
        recorded_at as decided_at

    from consents
    where recorded_at <= {{ segue.segue_now() }}

),

withdrawals as (

    -- The ESP reports an address per channel: an email for email, an E.164
    -- phone for sms. A push event carries whatever the ESP keys push on: an
    -- email-shaped value is an email, a + and digits a phone, anything else
    -- a device token (which no consent row can name).
    select
        channel,
        case
            when channel = 'email' then 'email'
            when channel = 'sms' then 'phone'
            when {{ segue.is_valid_email('identifier_value') }} then 'email'
            when {{ segue.regexp_like('identifier_value', '^[+][1-9][0-9]{7,14}$') }} then 'phone'
            else 'push_token'
        end as identifier_type,
        identifier_value,
        false as is_opted_in,
        event_name as decided_by_event,
        'message_events' as decided_by,
        event_id as decided_by_id,
        occurred_at as decided_at

    from message_events
    where
        event_name in ('unsubscribed', 'bounced', 'complained')
        and occurred_at <= {{ segue.segue_now() }}

),

vendor_opt_outs as (

    select
        channel,
        identifier_type,
        identifier_value,
        false as is_opted_in,
        'vendor_opt_out' as decided_by_event,
        'sms_opt_outs' as decided_by,
        action_id as decided_by_id,
        opted_out_at as decided_at

    from sms_opt_outs
    where opted_out_at <= {{ segue.segue_now() }}

),

decisions as (

    select * from consent_decisions
    union all
    select * from withdrawals
    union all
    select * from vendor_opt_outs

),

ranked as (

    select
        *,
        row_number() over (
            partition by channel, identifier_type, identifier_value
            order by
                decided_at desc,
                case when is_opted_in then 1 else 0 end asc,
                case when decided_by = 'message_events' then 0 else 1 end asc,
                decided_by_id desc
        ) as decision_rank,
        max(case when is_opted_in then decided_at end) over (
            partition by channel, identifier_type, identifier_value
        ) as last_opted_in_at,
        max(case when not is_opted_in then decided_at end) over (
            partition by channel, identifier_type, identifier_value
        ) as last_withdrawn_at,
        count(*) over (
            partition by channel, identifier_type, identifier_value
        ) as decisions_count

    from decisions

),

final as (

    select
        channel,
        identifier_type,
        identifier_value,
        is_opted_in,
        case when is_opted_in then 'opted_in' else 'opted_out' end as status,
        decided_at as status_changed_at,
        decided_by,
        decided_by_id,
        decided_by_event,
        last_opted_in_at,
        last_withdrawn_at,
        decisions_count

    from ranked
    where decision_rank = 1

)

select * from final
