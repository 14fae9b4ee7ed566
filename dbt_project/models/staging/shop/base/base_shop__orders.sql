{{ config(materialized='view') }}

with

source as (

    select * from {{ source('shop', 'orders') }}

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
        {{ segue.clean_text('order_id') }} as order_id,
        {{ segue.clean_text('customer_id') }} as customer_id,

        ---------- strings
        {{ segue.clean_email('email') }} as email_text,
        {{ segue.clean_text('phone') }} as phone_text,
        {{ segue.phone_digits('phone') }} as phone_digits,
        {{ segue.clean_lower('status') }} as status,
        upper({{ segue.clean_text('currency') }}) as currency,
        {{ segue.clean_lower('source') }} as order_source,

        ---------- numerics
        {{ segue.clean_text('total_amount') }} as total_amount_text,
        {{ segue.typed('total_amount', dbt.type_numeric()) }} as total_amount,

        ---------- timestamps
        {{ segue.clean_text('ordered_at') }} as ordered_at_text,
        {{ segue.typed('ordered_at', dbt.type_timestamp()) }} as ordered_at,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text([
            'order_id', 'customer_id', 'email', 'phone', 'status', 'total_amount', 'ordered_at'
        ]) }} as record_text

    from source

),

with_account as (

    -- A phone written without + is read in the account's country; guest
    -- orders have none (dbt var default_phone_country, else only
    -- international numbers are read).
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
            case when order_id is null then 'missing id' end,
            {{ segue.timestamp_issue('ordered_at_text', 'ordered_at') }},
            case
                when status is null or status not in ({{ segue.sql_string_list(var('order_statuses')) }})
                    then 'unknown status'
            end,
            case when total_amount_text is not null and total_amount is null then 'unparseable number' end
        ) as quarantine_reason

    from flagged

),

final as (

    select
        order_id,
        customer_id,
        email,
        phone,
        status,
        currency,
        order_source,
        total_amount,
        customer_id is null as is_guest_order,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        ordered_at,
        order_id as record_id,
        ordered_at as record_occurred_at,
        record_text,
        quarantine_reason

    from validated

)

select * from final
