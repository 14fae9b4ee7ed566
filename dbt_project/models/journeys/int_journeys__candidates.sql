{#-
    Every due step of every journey's trigger instances (one row per
    customer, journey, step and trigger instance), with its stable action_id:
    MD5 of (journey, step, customer_key, trigger_id). journey_actions decides
    about each.
-#}

{%- set journeys = [
    'journey_cart_abandonment', 'journey_back_in_stock', 'journey_welcome',
    'journey_browse_abandonment', 'journey_loyalty', 'journey_cross_sell',
    'journey_replenishment', 'journey_win_back',
] %}

with

unioned as (
    {%- for model in journeys %}

    select * from {{ ref(model) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        {{ segue.stable_id(['journey', 'step', 'customer_key', 'trigger_id']) }} as action_id,
        *

    from unioned

)

select * from final
