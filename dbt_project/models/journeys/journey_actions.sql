{{ config(schema='marts') }}

{#-
    The arbitration: one decision (send, holdout, suppressed) about every due
    step of every journey instance (int_journeys__candidates), CONTRACT §3-4.
    Rules, in order; the first that applies decides and names itself in
    suppression_reason:

    1. holdout: a stable hash of (journey, customer_key) below
       var `journey_holdout_share` (10%) -> decision holdout, before any rule.
    2. the delivery log (segue.action_deliveries) settled it: delivered or
       unknown -> already_delivered / delivery_unknown (never planned again:
       the journey moves to its next step); rejected -> rejected_by_destination.
    3. exited: the instance's exit event happened at or before now.
    4. expired: the journey's window after the trigger has passed.
    5. superseded_by_later_step: a later step of the same instance on the
       same channel group (messages or onsite) is due.
    6. no_consent: the channel (fixed, or next-best-channel: of email and sms,
       the opted-in one with most recent opens/clicks, email on ties, email when
       neither) has no current opt-in for to_address (int_consent__address_state).
    7. priority: per customer and channel group (messages: email+sms; onsite),
       only the highest-priority journey's latest step goes on (holdout rows
       take part, as the treated would): lower_priority_journey, or
       superseded_by_newer_trigger within the same journey.
    8. frequency_cap: email+sms sends already counted in the last
       var `frequency_cap_days` (7) reach var `frequency_cap_sends` (3)
       (transactional steps are exempt). At most one message send per customer
       and build, so a build never takes anyone over the cap.
    Otherwise: send.

    scheduled_for: the due time, not before now (for steps still to send), at
    the customer's most engaged local hour when the step uses send time,
    moved out of quiet hours (var `quiet_hours_start`..`quiet_hours_end`,
    local time of the profile's time zone, else UTC). Settled actions keep
    their delivered_at.
-#}

{%- set now = segue.segue_now() -%}
{%- set destinations = var('journey_destinations') %}

with

candidates as (

    -- channel group: the onsite steps, or the messages (email, sms, or the
    -- best of both: next-best-channel picks between those two only)
    select
        *,
        case when channel_rule = 'onsite' then 'onsite' else 'message' end as channel_group
    from {{ ref('int_journeys__candidates') }}

),

deliveries as (

    select * from {{ ref('stg_segue__action_deliveries') }}

),

profiles as (

    select * from {{ ref('customer_profiles') }}

),

consent as (

    select * from {{ ref('int_consent__address_state') }}

),

engagement as (

    select * from {{ ref('int_journeys__engagement') }}

),

sent_messages as (

    select * from {{ ref('int_journeys__sent_messages') }}

),

recent_sends as (

    select
        customer_key,
        count(*) as sends_in_window

    from sent_messages
    where
        sent_at <= {{ now }}
        and sent_at > {{ dbt.dateadd('day', -(var('frequency_cap_days') | int), now) }}
    group by customer_key

),

latest_steps as (

    -- The latest due step per instance and channel group, for
    -- superseded_by_later_step. A group by and a join: as window functions
    -- over the wide candidate rows, this and the priority ranking below were
    -- most of this model's CPU at 1M customers (bench/results.md).
    select
        journey,
        customer_key,
        trigger_id,
        channel_group,
        max(step_number) as latest_due_step_number
    from candidates
    group by journey, customer_key, trigger_id, channel_group

),

enriched as (

    select
        candidates.*,
        profiles.email,
        profiles.phone,
        profiles.timezone,
        profiles.first_name,
        profiles.points_balance as profile_points_balance,
        profiles.loyalty_tier as profile_loyalty_tier,
        coalesce(email_consent.is_opted_in, false) and profiles.email is not null as has_email_consent,
        coalesce(sms_consent.is_opted_in, false) and profiles.phone is not null as has_sms_consent,
        coalesce(engagement.email_engagements, 0) as email_engagements,
        coalesce(engagement.sms_engagements, 0) as sms_engagements,
        engagement.engaged_local_hour,
        deliveries.status as delivery_status,
        deliveries.delivered_at,
        coalesce(deliveries.is_settled_send, false) as is_settled,
        coalesce(recent_sends.sends_in_window, 0) as sends_in_cap_window,
        {{ segue.stable_fraction(dbt.concat(['candidates.journey', "'|'", 'candidates.customer_key'])) }}
        < {{ var('journey_holdout_share') }} as is_holdout,
        latest_steps.latest_due_step_number

    from candidates
    left join profiles
        on candidates.customer_key = profiles.customer_key
    left join consent as email_consent
        on
            email_consent.channel = 'email'
            and email_consent.identifier_type = 'email'
            and profiles.email = email_consent.identifier_value
            and email_consent.status_changed_at <= {{ now }}
    left join consent as sms_consent
        on
            sms_consent.channel = 'sms'
            and sms_consent.identifier_type = 'phone'
            and profiles.phone = sms_consent.identifier_value
            and sms_consent.status_changed_at <= {{ now }}
    left join engagement
        on candidates.customer_key = engagement.customer_key
    left join deliveries
        on candidates.action_id = deliveries.action_id
    left join recent_sends
        on candidates.customer_key = recent_sends.customer_key
    left join latest_steps
        on
            candidates.journey = latest_steps.journey
            and candidates.customer_key = latest_steps.customer_key
            and candidates.trigger_id = latest_steps.trigger_id
            and candidates.channel_group = latest_steps.channel_group

),

channels as (

    select
        *,
        case
            when channel_rule <> 'best' then channel_rule
            when has_sms_consent and not has_email_consent then 'sms'
            when has_sms_consent and sms_engagements > email_engagements then 'sms'
            else 'email'
        end as channel

    from enriched

),

addressed as (

    select
        *,
        case channel when 'email' then email when 'sms' then phone end as to_address,
        case channel
            when 'email' then has_email_consent
            when 'sms' then has_sms_consent
            else true
        end as has_consent

    from channels

),

gated as (

    -- every rule before priority, ignoring the holdout (holdout rows take
    -- part in priority as their treated twins would)
    select
        *,
        case
            when delivery_status = 'delivered' then 'already_delivered'
            when is_settled then 'delivery_unknown'
            when delivery_status = 'rejected' then 'rejected_by_destination'
            when exit_at is not null and exit_at <= {{ now }} then 'exited'
            when window_ends_at < {{ now }} then 'expired'
            when step_number < latest_due_step_number then 'superseded_by_later_step'
            when not has_consent then 'no_consent'
        end as gate_reason

    from addressed

),

priority_ranks as (

    -- Ranked over the rows no gate decided, with only the columns the
    -- ranking needs (action_id is unique), then joined back.
    select
        action_id,
        row_number() over (
            partition by customer_key, channel_group
            order by journey_priority asc, triggered_at desc, step_number desc, action_id asc
        ) as priority_rank
    from gated
    where gate_reason is null

),

ranked as (

    select
        gated.*,
        priority_ranks.priority_rank
    from gated
    left join priority_ranks
        on gated.action_id = priority_ranks.action_id

),

winners as (

    select
        customer_key,
        channel_group,
        journey as winning_journey
    from ranked
    where priority_rank = 1

),

decided as (

    select
        ranked.*,
        case
            when ranked.is_holdout then 'holdout'
            when ranked.gate_reason is not null then ranked.gate_reason
            when ranked.priority_rank > 1 and ranked.journey <> winners.winning_journey
                then 'lower_priority_journey'
            when ranked.priority_rank > 1 then 'superseded_by_newer_trigger'
            when
                ranked.channel_group = 'message'
                and not ranked.is_transactional
                and ranked.sends_in_cap_window >= {{ var('frequency_cap_sends') | int }}
                then 'frequency_cap'
        end as suppression_reason

    from ranked
    left join winners
        on
            ranked.customer_key = winners.customer_key
            and ranked.channel_group = winners.channel_group

),

timed as (

    select
        *,
        {{ segue.next_local_hour(
            'case when due_at > ' ~ now ~ ' then due_at else ' ~ now ~ ' end',
            'timezone',
            'case when uses_send_time then engaged_local_hour end',
        ) }} as send_time_at

    from decided

),

final as (

    select
        action_id,
        customer_key,
        journey,
        step,
        channel,
        case channel
            {%- for channel, destination in destinations.items() %}
            when '{{ channel }}' then '{{ destination }}'
            {%- endfor %}
        end as destination,
        case
            when suppression_reason is null then 'send'
            when suppression_reason = 'holdout' then 'holdout'
            else 'suppressed'
        end as decision,
        suppression_reason,
        case
            when is_settled and delivered_at is not null then delivered_at
            else {{ segue.quiet_hours_adjust('send_time_at', 'timezone') }}
        end as scheduled_for,
        to_address,
        is_transactional,
        journey_priority,
        step_number,
        trigger_id,
        triggered_at,
        due_at,
        window_ends_at,
        exit_at,
        exit_reason,
        is_holdout,
        delivery_status,
        timezone,
        payload_product_ids,
        payload_product_names,
        payload_category,
        first_name as payload_first_name,
        coalesce(payload_points_balance, profile_points_balance) as payload_points_balance,
        coalesce(payload_loyalty_tier, profile_loyalty_tier) as payload_loyalty_tier,
        payload_points_expire_at,
        {{ now }} as decided_at

    from timed

)

select * from final
