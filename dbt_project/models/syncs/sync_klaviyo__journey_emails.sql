-- Journey email steps decided `send` for Klaviyo, delivered as events (one per
-- action, unique_id = action_id) that trigger the matching Klaviyo flow. Each
-- action is delivered at most once; a step scheduled for later waits.
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
        payload_product_names,
        payload_points_balance,
        payload_loyalty_tier

    from actions
    where
        decision = 'send'
        and channel = 'email'
        and destination = 'klaviyo'

)

select * from final
