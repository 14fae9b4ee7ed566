{#-
    The SQL of the view base_esp__message_events: the ESP's message
    events (raw.message_events), cleaned, typed and validated:
    one row per raw row with its quarantine_reason.

    Shared by the view and an incremental run of stg_esp__message_events, which
    cleans only the unstaged raw rows (unstaged_raw_rows,
    macros/staging/incremental_staging.sql).

    source_relation  the raw table (a source())
-#}
{% macro base_esp__message_events(source_relation) -%}

{%- set record_columns = ['event_id', 'message_id', 'channel', 'identifier_value', 'event', 'occurred_at'] %}
{%- set raw_types = segue.raw_column_types(source_relation) %}

with

source as (

    -- every raw row; on an incremental run of the staging model, the unstaged ones
    {{ segue.unstaged_raw_rows(source_relation, 'event_id') }}

),

calling_codes as (

    select * from {{ ref('country_calling_codes') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('event_id') }} as event_id,
        {{ segue.clean_text('message_id') }} as message_id,

        ---------- strings
        {{ segue.clean_lower('channel') }} as channel,
        {{ segue.clean_text('identifier_value') }} as identifier_value_text,
        -- only a phone's digits are used: no regex over every email address
        case
            when {{ segue.clean_lower('channel') }} = 'sms'
                then {{ segue.phone_digits('identifier_value') }}
        end as identifier_value_digits,
        {{ segue.clean_lower('event') }} as event_name,
        {{ segue.clean_text('journey') }} as journey,

        ---------- timestamps
        {{ segue.raw_value('occurred_at', raw_types) }} as occurred_at_raw,
        {{ segue.typed('occurred_at', dbt.type_timestamp()) }} as occurred_at,

        ---------- the raw row, for record_text (built in `final`, after the
        -- seed join and the quarantine filter: only for quarantined rows)
        {{ segue.raw_row(record_columns) }}

    from source

),

normalized as (

    -- The address is an email for email, a phone for sms (no country: read
    -- in dbt var default_phone_country unless written with +), a device
    -- token for push (trimmed only).
    select
        renamed.*,
        case renamed.channel
            when 'email' then {{ segue.normalize_email(segue.clean_email('renamed.identifier_value_text')) }}
            when 'sms' then {{ segue.normalize_phone(
                'renamed.identifier_value_text', 'codes', digits='renamed.identifier_value_digits'
            ) }}
            when 'push' then renamed.identifier_value_text
        end as identifier_value

    from renamed
    left join calling_codes as codes
        on {{ segue.default_phone_country() }} = codes.country

),

validated as (

    select
        *,
        coalesce(
            case when event_id is null then 'missing id' end,
            {{ segue.timestamp_issue('occurred_at_raw', 'occurred_at') }},
            case
                when channel is null or channel not in ({{ segue.sql_string_list(var('message_channels')) }})
                    then 'unknown channel'
            end,
            case
                when
                    event_name is null
                    or event_name not in ({{ segue.sql_string_list(var('message_event_names')) }})
                    then 'unknown event name'
            end,
            case when identifier_value_text is null then 'missing identifier' end,
            case when identifier_value is null then 'invalid identifier' end
        ) as quarantine_reason

    from normalized

),

final as (

    select
        event_id,
        message_id,
        channel,
        identifier_value,
        event_name,
        journey,
        occurred_at,
        event_id as record_id,
        occurred_at as record_occurred_at,
        {{ segue.record_text(record_columns, carried=true) }} as record_text,
        quarantine_reason

    from validated

)

select * from final
{%- endmacro %}
