-- On-site journey steps decided `send` (var journey_destinations routes onsite
-- to the webhook), delivered as `action` records of the signed webhook: the
-- website shows the step (banner, product shelf) for that customer. Receivers
-- drop an action_id they already processed, so a lost answer is safely re-sent.
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
        payload_product_ids,
        payload_product_names,
        payload_points_balance,
        payload_loyalty_tier

    from actions
    where
        decision = 'send'
        and channel = 'onsite'
        and destination = 'webhook'

)

select * from final
