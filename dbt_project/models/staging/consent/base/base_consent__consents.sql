{{ config(materialized='view') }}

{%- set record_columns = ['consent_id', 'channel', 'identifier_type', 'identifier_value', 'status', 'recorded_at'] %}
{%- set raw_types = segue.raw_column_types(source('consent', 'consents')) %}

with

source as (

    select * from {{ source('consent', 'consents') }}

),

calling_codes as (

    select * from {{ ref('country_calling_codes') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('consent_id') }} as consent_id,

        ---------- strings
        {{ segue.clean_lower('channel') }} as channel,
        {{ segue.clean_lower('identifier_type') }} as identifier_type,
        {{ segue.clean_text('identifier_value') }} as identifier_value_text,
        -- only a phone's digits are used: no regex over every email address
        case
            when {{ segue.clean_lower('identifier_type') }} = 'phone'
                then {{ segue.phone_digits('identifier_value') }}
        end as identifier_value_digits,
        -- 'Opted-In', 'opted in' and 'OPTED_IN' are all opted_in.
        replace(replace({{ segue.clean_lower('status') }}, '-', '_'), ' ', '_') as status,
        {{ segue.clean_lower('source') }} as consent_source,

        ---------- timestamps
        {{ segue.raw_value('recorded_at', raw_types) }} as recorded_at_raw,
        {{ segue.typed('recorded_at', dbt.type_timestamp()) }} as recorded_at,

        ---------- the raw row, for record_text (built in `final`, after the
        -- seed join and the quarantine filter: only for quarantined rows)
        {{ segue.raw_row(record_columns) }}

    from source

),

normalized as (

    -- Consent rows have no country: a phone written without + is read in
    -- dbt var default_phone_country, else it is invalid.
    select
        renamed.*,
        case renamed.identifier_type
            when 'email' then {{ segue.normalize_email(segue.clean_email('renamed.identifier_value_text')) }}
            when 'phone' then {{ segue.normalize_phone(
                'renamed.identifier_value_text', 'codes', digits='renamed.identifier_value_digits'
            ) }}
        end as identifier_value

    from renamed
    left join calling_codes as codes
        on {{ segue.default_phone_country() }} = codes.country

),

validated as (

    select
        *,
        coalesce(
            case when consent_id is null then 'missing id' end,
            {{ segue.timestamp_issue('recorded_at_raw', 'recorded_at') }},
            case
                when channel is null or channel not in ({{ segue.sql_string_list(var('consent_channels')) }})
                    then 'unknown channel'
            end,
            case
                when
                    identifier_type is null
                    or identifier_type not in ({{ segue.sql_string_list(var('consent_identifier_types')) }})
                    then 'unknown identifier type'
            end,
            case
                when status is null or status not in ({{ segue.sql_string_list(var('consent_statuses')) }})
                    then 'unknown status'
            end,
            case when identifier_value_text is null then 'missing identifier' end,
            case when identifier_value is null then 'invalid identifier' end
        ) as quarantine_reason

    from normalized

),

final as (

    select
        consent_id,
        channel,
        identifier_type,
        identifier_value,
        status,
        status = 'opted_in' as is_opted_in,
        consent_source,
        recorded_at,
        consent_id as record_id,
        recorded_at as record_occurred_at,
        {{ segue.record_text(record_columns, carried=true) }} as record_text,
        quarantine_reason

    from validated

)

select * from final
