{{ config(schema='marts') }}

{#-
    Per journey and step: treated vs holdout entrants (every customer with a
    row for the step in journey_actions, by intention to treat: treated =
    not held out, whatever the later rules decided), how many were sent,
    conversions (a completed purchase, online or in store, within
    var `journey_attribution_days` (7) after the step was due; only entrants
    whose window has fully passed by now are measured), conversion rates,
    absolute lift (treated rate - holdout rate) and its 95% confidence
    interval (normal approximation of the difference of two proportions).
-#}

{%- set now = segue.segue_now() -%}
{%- set days = var('journey_attribution_days') | int %}

with

actions as (

    select * from {{ ref('journey_actions') }}

),

purchases as (

    select * from {{ ref('int_journeys__purchases') }}

),

entrants as (

    select
        actions.journey,
        actions.step,
        actions.step_number,
        actions.action_id,
        actions.is_holdout,
        actions.decision,
        max(case when purchases.purchase_id is not null then 1 else 0 end) as converted

    from actions
    left join purchases
        on
            actions.customer_key = purchases.customer_key
            and actions.due_at < purchases.purchased_at
            and purchases.purchased_at <= {{ dbt.dateadd('day', days, 'actions.due_at') }}
    where {{ dbt.dateadd('day', days, 'actions.due_at') }} <= {{ now }}
    group by
        actions.journey,
        actions.step,
        actions.step_number,
        actions.action_id,
        actions.is_holdout,
        actions.decision

),

grouped as (

    select
        journey,
        step,
        step_number,
        sum(case when not is_holdout then 1 else 0 end) as treated_entrants,
        sum(case when is_holdout then 1 else 0 end) as holdout_entrants,
        sum(case when not is_holdout then converted else 0 end) as treated_conversions,
        sum(case when is_holdout then converted else 0 end) as holdout_conversions

    from entrants
    group by journey, step, step_number

),

rates as (

    select
        *,
        case when treated_entrants > 0 then 1.0 * treated_conversions / treated_entrants end as treated_conversion_rate,
        case when holdout_entrants > 0 then 1.0 * holdout_conversions / holdout_entrants end as holdout_conversion_rate

    from grouped

),

lifts as (

    select
        *,
        treated_conversion_rate - holdout_conversion_rate as absolute_lift,
        1.96 * sqrt(
            treated_conversion_rate * (1 - treated_conversion_rate) / nullif(treated_entrants, 0)
            + holdout_conversion_rate * (1 - holdout_conversion_rate) / nullif(holdout_entrants, 0)
        ) as margin_of_error

    from rates

),

final as (

    select
        journey,
        step,
        step_number,
        treated_entrants,
        holdout_entrants,
        treated_conversions,
        holdout_conversions,
        treated_conversion_rate,
        holdout_conversion_rate,
        absolute_lift,
        absolute_lift - margin_of_error as lift_ci_lower,
        absolute_lift + margin_of_error as lift_ci_upper,
        {{ days }} as attribution_days,
        {{ now }} as measured_at

    from lifts

)

select * from final
