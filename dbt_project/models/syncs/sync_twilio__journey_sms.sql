-- Journey SMS steps decided `send` for Twilio, delivered as Messages (one per
-- action, the action id in the StatusCallback URL) at most once each; a step
-- scheduled for later waits. Twilio cannot de-duplicate a send: a send whose
-- answer was lost is reconciled by listing the number's messages. The text is
-- built here and kept within Twilio's 1,600 characters.
with

actions as (

    select * from {{ ref('journey_actions') }}

),

worded as (

    select
        action_id,
        customer_key,
        journey,
        step,
        channel,
        scheduled_for,
        to_address,
        case journey
            when 'cart_abandonment' then 'your cart is still waiting for you'
            when 'browse_abandonment' then 'still thinking it over'
            when 'back_in_stock' then 'good news, it is back in stock'
            when 'replenishment' then 'time to stock up again'
            when 'cross_sell' then 'picked for you'
            when 'win_back' then 'we miss you, come back for something new'
            when 'welcome' then 'welcome, glad you are here'
            when 'loyalty' then 'news about your loyalty points'
            else 'we have something for you'
        end as headline,
        substr(coalesce(payload_product_names, ''), 1, 600) as products

    from actions
    where
        decision = 'send'
        and channel = 'sms'
        and destination = 'twilio'

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
        {{ dbt.concat([
            "'Segue Store: '",
            "headline",
            "case when products = '' then '' else ': ' end",
            "products",
            "'. Reply STOP to opt out.'",
        ]) }} as sms_body

    from worded

)

select * from final
