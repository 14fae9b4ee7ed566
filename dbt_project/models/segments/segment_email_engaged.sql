{#- Email-engaged: opened or clicked an email in the last var `segment_engaged_days` (30) and the profile's email holds an opt-in now. Qualified at the first such open/click in the window. -#}

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

consent as (

    select * from {{ ref('int_consent__address_state') }}

),

engaged as (

    select
        identifiers.customer_key,
        min(message_events.occurred_at) as qualified_at

    from message_events
    inner join identifiers
        on
            identifiers.identifier_type = 'email'
            and message_events.identifier_value = identifiers.identifier_value
    where
        message_events.channel = 'email'
        and message_events.event_name in ('opened', 'clicked')
        and message_events.occurred_at <= {{ segue.segue_now() }}
        and message_events.occurred_at
        > {{ dbt.dateadd('day', -(var('segment_engaged_days') | int), segue.segue_now()) }}
    group by identifiers.customer_key

),

final as (

    select
        engaged.customer_key,
        engaged.qualified_at
    from engaged
    inner join profiles
        on engaged.customer_key = profiles.customer_key
    inner join consent
        on
            consent.channel = 'email'
            and consent.identifier_type = 'email'
            and profiles.email = consent.identifier_value
    where consent.is_opted_in

)

select * from final
