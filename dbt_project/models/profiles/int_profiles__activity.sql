{#-
    Per customer: the last time they did anything we can see, at or before
    as-of: a Segment event or identify call (through the account it names,
    else its device), an online order of any status, an in-store
    transaction, or an open or click on a message. Events are first reduced
    to one row per (customer_id, anonymous_id) so the identity join stays
    small at tens of millions of events.
-#}

with

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

events as (

    select * from {{ ref('stg_segment__events') }}

),

identifies as (

    select * from {{ ref('stg_segment__identifies') }}

),

purchases as (

    select * from {{ ref('int_profiles__purchases') }}

),

engagement as (

    select * from {{ ref('int_profiles__engagement') }}

),

segment_calls as (

    select
        customer_id,
        anonymous_id,
        occurred_at
    from events
    where occurred_at <= {{ segue.segue_now() }}
    union all
    select
        customer_id,
        anonymous_id,
        identified_at as occurred_at
    from identifies
    where identified_at <= {{ segue.segue_now() }}

),

segment_by_actor as (

    select
        customer_id,
        anonymous_id,
        max(occurred_at) as active_at

    from segment_calls
    group by customer_id, anonymous_id

),

segment_activity as (

    select
        coalesce(by_customer_id.customer_key, by_anonymous_id.customer_key) as customer_key,
        segment_by_actor.active_at

    from segment_by_actor
    left join identifiers as by_customer_id
        on
            by_customer_id.identifier_type = 'customer_id'
            and segment_by_actor.customer_id = by_customer_id.identifier_value
    left join identifiers as by_anonymous_id
        on
            by_anonymous_id.identifier_type = 'anonymous_id'
            and segment_by_actor.anonymous_id = lower(by_anonymous_id.identifier_value)

),

activity as (

    select
        customer_key,
        active_at
    from segment_activity
    where customer_key is not null

    union all

    select
        customer_key,
        purchased_at as active_at
    from purchases
    where customer_key is not null and not is_after_as_of

    union all

    select
        customer_key,
        last_engaged_at as active_at
    from engagement
    where last_engaged_at is not null

),

final as (

    select
        customer_key,
        max(active_at) as last_active_at

    from activity
    group by customer_key

)

select * from final
