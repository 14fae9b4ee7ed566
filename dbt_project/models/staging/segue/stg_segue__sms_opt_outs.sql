{#-
    SMS opt-outs that a destination reported back to the sync engine: a send
    the vendor refused because the recipient had replied STOP (Twilio error
    21610, "attempt to send to unsubscribed recipient"). The engine records the
    refusal in segue.action_deliveries (status rejected, last_error starting
    with the vendor's code, to_address the number). Each is a withdrawal of
    SMS consent for that number as of the sync run (outcome_at), which
    int_consent__address_state applies on the next build. Empty before the
    first sync (the table does not exist yet).
-#}
{%- set deliveries = source('segue', 'action_deliveries') -%}
{#- vendor error codes meaning "this number opted out of SMS": Twilio 21610 -#}
{%- set opt_out_codes = ['21610'] -%}
{%- set existing = adapter.get_relation(
    database=deliveries.database,
    schema=deliveries.schema,
    identifier=deliveries.identifier,
) if execute else none -%}

with

{% if existing is not none %}
source as (

    select * from {{ deliveries }}

),
{% else %}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as action_id,
        cast(null as {{ dbt.type_string() }}) as destination,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_string() }}) as last_error,
        cast(null as {{ dbt.type_string() }}) as to_address,
        cast(null as {{ dbt.type_timestamp() }}) as outcome_at
    where 1 = 0

),
{% endif %}

refusals as (

    select
        trim(cast(action_id as {{ dbt.type_string() }})) as action_id,
        lower(trim(cast(destination as {{ dbt.type_string() }}))) as destination,
        trim(cast(to_address as {{ dbt.type_string() }})) as phone,
        trim(cast(last_error as {{ dbt.type_string() }})) as last_error,
        cast(outcome_at as {{ dbt.type_timestamp() }}) as opted_out_at

    from source
    where
        lower(trim(cast(status as {{ dbt.type_string() }}))) = 'rejected'
        and to_address is not null
        and outcome_at is not null
        and (
            {%- for code in opt_out_codes %}
            trim(cast(last_error as {{ dbt.type_string() }})) like '{{ code }}:%'
            {%- if not loop.last %} or {% endif %}
            {%- endfor %}
        )

),

final as (

    select
        action_id,
        destination,
        'sms' as channel,
        'phone' as identifier_type,
        phone as identifier_value,
        last_error,
        opted_out_at

    from refusals

)

select * from final
