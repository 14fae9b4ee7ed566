{#-
    Per customer and channel (email, sms): how the customer engaged with
    messages, from what the ESP and SMS tools reported (stg_esp__message_events)
    for any of the customer's addresses (an email for email, a phone for sms,
    resolved through marts.customer_identifiers). Engagement is an open or a
    click at or before as-of, within the last dbt var
    `preferred_channel_lookback_days` days. preferred_channel compares these counts.
-#}

{%- set lookback_start = dbt.dateadd('day', - var('preferred_channel_lookback_days'), segue.segue_now()) %}

with

identifiers as (

    select * from {{ ref('customer_identifiers') }}
    where identifier_type in ('email', 'phone')

),

message_events as (

    select * from {{ ref('stg_esp__message_events') }}
    where
        channel in ('email', 'sms')
        and occurred_at <= {{ segue.segue_now() }}

),

resolved as (

    select
        identifiers.customer_key,
        message_events.channel,
        message_events.event_name,
        message_events.occurred_at

    from message_events
    inner join identifiers
        on
            message_events.identifier_value = identifiers.identifier_value
            and identifiers.identifier_type = case message_events.channel when 'email' then 'email' else 'phone' end

),

final as (

    select
        customer_key,
        channel,
        sum(case when event_name = 'delivered' then 1 else 0 end) as delivered_count,
        sum(
            case
                when
                    event_name in ('opened', 'clicked')
                    and occurred_at > {{ lookback_start }}
                    then 1
                else 0
            end
        ) as engagements_count,
        max(case when event_name in ('opened', 'clicked') then occurred_at end) as last_engaged_at

    from resolved
    group by customer_key, channel

)

select * from final
