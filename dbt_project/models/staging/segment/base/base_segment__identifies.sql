{{ config(materialized='view') }}

with

source as (

    select * from {{ source('segment', 'identifies') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

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
        {{ segue.clean_text('message_id') }} as message_id,
        {{ segue.clean_lower('anonymous_id') }} as anonymous_id,
        -- Segment's user_id is the web account id (CONTRACT §2).
        {{ segue.clean_text('user_id') }} as customer_id,

        ---------- strings
        {{ segue.clean_email('email') }} as email_text,
        {{ segue.clean_text('phone') }} as phone_text,
        {{ segue.phone_digits('phone') }} as phone_digits,

        ---------- timestamps
        {{ segue.clean_text(adapter.quote('timestamp')) }} as identified_at_text,
        {{ segue.typed(adapter.quote('timestamp'), dbt.type_timestamp()) }} as identified_at,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text([
            'message_id', 'anonymous_id', 'user_id', 'email', 'phone', 'timestamp'
        ]) }} as record_text

    from source

),

with_account as (

    -- A phone written without + is read in the country of the account
    -- (user_id) the call identifies.
    select
        renamed.*,
        customers.country as account_country

    from renamed
    left join customers
        on renamed.customer_id = customers.customer_id

),

normalized as (

    select
        with_account.*,
        {{ segue.normalize_email('with_account.email_text') }} as email,
        {{ segue.normalize_phone(
            'with_account.phone_text', 'codes', digits='with_account.phone_digits'
        ) }} as phone,
        codes.calling_code as phone_calling_code

    from with_account
    left join calling_codes as codes
        on coalesce(with_account.account_country, {{ segue.default_phone_country() }}) = codes.country

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
            case when message_id is null then 'missing id' end,
            case when anonymous_id is null and customer_id is null then 'missing identity' end,
            {{ segue.timestamp_issue('identified_at_text', 'identified_at') }}
        ) as quarantine_reason

    from flagged

),

final as (

    select
        message_id,
        anonymous_id,
        customer_id,
        email,
        phone,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        identified_at,
        message_id as record_id,
        identified_at as record_occurred_at,
        record_text,
        quarantine_reason

    from validated

)

select * from final
