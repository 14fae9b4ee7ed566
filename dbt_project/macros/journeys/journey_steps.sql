{#-
    The steps of one journey, from dbt var `journeys`, as a select of
    constant rows: journey, journey_priority, window_hours, step, step_number,
    wait_hours, channel_rule (email, sms, onsite, or best = next-best-channel),
    is_transactional, uses_send_time, ignores_exit.
-#}
{% macro journey_steps(journey) -%}
    {%- set config = var('journeys')[journey] -%}
    {%- for step in config['steps'] %}
    select
        cast('{{ journey }}' as {{ dbt.type_string() }}) as journey,
        {{ config['priority'] | int }} as journey_priority,
        {{ config['window_hours'] | int }} as window_hours,
        cast('{{ step["step"] }}' as {{ dbt.type_string() }}) as step,
        {{ loop.index }} as step_number,
        {{ step['wait_hours'] | int }} as wait_hours,
        cast('{{ step["channel"] }}' as {{ dbt.type_string() }}) as channel_rule,
        {{ 'true' if step.get('is_transactional', false) else 'false' }} as is_transactional,
        {{ 'true' if step.get('uses_send_time', false) else 'false' }} as uses_send_time,
        {{ 'true' if step.get('ignores_exit', false) else 'false' }} as ignores_exit
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{#-
    The due steps of a journey's trigger instances. `instances` names a CTE
    with: customer_key, trigger_id, triggered_at, exit_at, exit_reason and the
    payload_ columns. Keeps instances triggered within
    `journey_lookback_days` and steps already due (triggered_at + wait <= now)
    whose exit event, if any, came after they were due.
-#}
{% macro journey_due_steps(journey, instances) -%}
    {%- set now = segue.segue_now() -%}
    steps as (
        {{ segue.journey_steps(journey) }}
    ),

    due_steps as (

        select
            steps.journey,
            steps.journey_priority,
            steps.step,
            steps.step_number,
            steps.channel_rule,
            steps.is_transactional,
            steps.uses_send_time,
            instances.customer_key,
            instances.trigger_id,
            instances.triggered_at,
            {{ dbt.dateadd('hour', 'steps.wait_hours', 'instances.triggered_at') }} as due_at,
            {{ dbt.dateadd('hour', 'steps.window_hours', 'instances.triggered_at') }} as window_ends_at,
            case when steps.ignores_exit then null else instances.exit_at end as exit_at,
            case when steps.ignores_exit then null else instances.exit_reason end as exit_reason,
            instances.payload_product_ids,
            instances.payload_product_names,
            instances.payload_category,
            instances.payload_points_balance,
            instances.payload_loyalty_tier,
            instances.payload_points_expire_at

        from {{ instances }} as instances
        cross join steps
        where
            instances.customer_key is not null
            and {{ segue.within_journey_lookback('instances.triggered_at') }}

    ),

    final as (

        -- a step whose exit came before it was due never had an entrant
        -- (a cart bought within the hour was never abandoned)
        select * from due_steps
        where
            due_at <= {{ now }}
            and (exit_at is null or exit_at > due_at)

    )
{%- endmacro %}


{#-
    True when a trigger time is within `journey_lookback_days` up to now: the
    instances journey_due_steps keeps. A journey model can filter its
    triggers with it early, before expensive per-instance work.
-#}
{% macro within_journey_lookback(time_column) -%}
    {{ time_column }} <= {{ segue.segue_now() }}
    and {{ time_column }} > {{ segue.journey_lookback_start() }}
{%- endmacro %}


{#- The instant `journey_lookback_days` before now (exclusive lower bound of the lookback). -#}
{% macro journey_lookback_start() -%}
    {{ dbt.dateadd('day', -(var('journey_lookback_days') | int), segue.segue_now()) }}
{%- endmacro %}


{#- The start of the (UTC) day the lookback starts in: the first day a
    per-day count (browse abandonment's views) of a kept trigger can cover. -#}
{% macro journey_lookback_first_day() -%}
    {{ dbt.date_trunc('day', segue.journey_lookback_start()) }}
{%- endmacro %}
