-- Journey email steps decided `send` and routed to Braze (var
-- journey_destinations: email -> braze), triggered through the API-triggered
-- campaign `segue_journey_step` with the action's id in trigger_properties.
-- Braze has no idempotency key: the send ledger keeps each action at most once.
with

actions as (

    select * from {{ ref('journey_actions') }}

),

final as (

    select
        action_id,
        customer_key,
        journey,
        step,
        channel,
        scheduled_for,
        to_address,
        payload_first_name,
        payload_product_ids,
        payload_product_names

    from actions
    where
        decision = 'send'
        and channel = 'email'
        and destination = 'braze'

)

select * from final
