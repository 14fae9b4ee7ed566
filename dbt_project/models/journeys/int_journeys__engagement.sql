{#-
    Recent engagement per customer, for next-best-channel and send time:
    opens and clicks (stg_esp__message_events) of the last
    var `engagement_lookback_days` (90) per channel, and the customer's most
    engaged local hour (the hour with most opens/clicks in their time zone,
    earliest on ties) once they have var `send_time_min_engagements` (3).
-#}

with

message_events as (

    select * from {{ ref('stg_esp__message_events') }}

),

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

profiles as (

    select * from {{ ref('customer_profiles') }}

),

engagements as (

    select
        identifiers.customer_key,
        message_events.channel,
        message_events.occurred_at

    from message_events
    inner join identifiers
        on
            message_events.identifier_value = identifiers.identifier_value
            and identifiers.identifier_type = case message_events.channel when 'sms' then 'phone' else 'email' end
    where
        message_events.event_name in ('opened', 'clicked')
        and message_events.channel in ('email', 'sms')
        and message_events.occurred_at <= {{ segue.segue_now() }}
        and message_events.occurred_at
        > {{ dbt.dateadd('day', -(var('engagement_lookback_days') | int), segue.segue_now()) }}

),

local_hours as (

    select
        engagements.customer_key,
        extract(hour from {{ segue.utc_to_local('engagements.occurred_at', 'profiles.timezone') }}) as local_hour,  -- noqa: LT05
        count(*) as engagements

    from engagements
    left join profiles
        on engagements.customer_key = profiles.customer_key
    group by engagements.customer_key, local_hour

),

best_hours as (

    select
        customer_key,
        local_hour,
        row_number() over (partition by customer_key order by engagements desc, local_hour asc) as hour_rank,
        sum(engagements) over (partition by customer_key) as total_engagements

    from local_hours

),

per_channel as (

    select
        customer_key,
        sum(case when channel = 'email' then 1 else 0 end) as email_engagements,
        sum(case when channel = 'sms' then 1 else 0 end) as sms_engagements

    from engagements
    group by customer_key

),

final as (

    select
        per_channel.customer_key,
        per_channel.email_engagements,
        per_channel.sms_engagements,
        cast(case
            when best_hours.total_engagements >= {{ var('send_time_min_engagements') | int }}
                then best_hours.local_hour
        end as {{ dbt.type_int() }}) as engaged_local_hour

    from per_channel
    left join best_hours
        on
            per_channel.customer_key = best_hours.customer_key
            and best_hours.hour_rank = 1

)

select * from final
