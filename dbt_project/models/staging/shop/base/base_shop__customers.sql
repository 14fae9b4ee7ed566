{{ config(materialized='view') }}

with

source as (

    select * from {{ source('shop', 'customers') }}

),

calling_codes as (

    select * from {{ ref('country_calling_codes') }}

),

blocked_values as (

    select distinct
        identifier_type,
        identifier_value
    from {{ ref('blocked_identifier_values') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('customer_id') }} as customer_id,

        ---------- strings
        {{ segue.clean_email('email') }} as email_text,
        {{ segue.clean_text('phone') }} as phone_text,
        {{ segue.phone_digits('phone') }} as phone_digits,
        {{ segue.clean_text('first_name') }} as first_name,
        {{ segue.clean_text('last_name') }} as last_name,
        upper({{ segue.clean_text('country') }}) as country,

        ---------- timestamps
        {{ segue.clean_text('created_at') }} as created_at_text,
        {{ segue.typed('created_at', dbt.type_timestamp()) }} as created_at,
        {{ segue.clean_text('updated_at') }} as updated_at_text,
        {{ segue.typed('updated_at', dbt.type_timestamp()) }} as updated_at,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text([
            'customer_id', 'email', 'phone', 'country', 'created_at', 'updated_at'
        ]) }} as record_text

    from source

),

normalized as (

    select
        renamed.*,
        {{ segue.normalize_email('renamed.email_text') }} as email,
        {{ segue.normalize_phone('renamed.phone_text', 'codes', digits='renamed.phone_digits') }} as phone,
        codes.calling_code as phone_calling_code

    from renamed
    left join calling_codes as codes
        on coalesce(renamed.country, {{ segue.default_phone_country() }}) = codes.country

),

flagged as (

    select
        normalized.*,
        normalized.email_text is not null and normalized.email is null as is_email_invalid,
        normalized.phone_text is not null and normalized.phone is null as is_phone_invalid,
        {{ segue.is_placeholder_email_pattern('normalized.email_text') }}
        or blocked_email.identifier_value is not null as is_placeholder_email,
        {{ segue.is_placeholder_phone_pattern(
            'normalized.phone_digits', 'normalized.phone', 'normalized.phone_calling_code'
        ) }}
        or blocked_phone.identifier_value is not null as is_placeholder_phone

    from normalized
    left join blocked_values as blocked_email
        on
            blocked_email.identifier_type = 'email'
            and normalized.email_text = blocked_email.identifier_value
    left join blocked_values as blocked_phone
        on
            blocked_phone.identifier_type = 'phone'
            and {{ segue.phone_lookup_key('normalized.phone_text', digits='normalized.phone_digits') }}
            = blocked_phone.identifier_value

),

validated as (

    select
        *,
        coalesce(
            case when customer_id is null then 'missing id' end,
            case when created_at_text is null and updated_at_text is null then 'missing timestamp' end,
            {{ segue.timestamp_issue('created_at_text', 'created_at', required=false) }},
            {{ segue.timestamp_issue('updated_at_text', 'updated_at', required=false) }}
        ) as quarantine_reason

    from flagged

),

final as (

    select
        customer_id,
        email,
        phone,
        first_name,
        last_name,
        country,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        created_at,
        coalesce(updated_at, created_at) as updated_at,
        customer_id as record_id,
        coalesce(updated_at, created_at) as record_occurred_at,
        record_text,
        quarantine_reason

    from validated

)

select * from final
