{{ config(materialized='view') }}

{%- set record_columns = ['message_id', 'anonymous_id', 'user_id', 'email', 'phone', 'timestamp'] %}
{%- set raw_types = segue.raw_column_types(source('segment', 'identifies')) %}

with

source as (

    select * from {{ source('segment', 'identifies') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

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
        {{ segue.raw_value('timestamp', raw_types) }} as identified_at_raw,
        {{ segue.typed(adapter.quote('timestamp'), dbt.type_timestamp()) }} as identified_at,

        ---------- the raw row, for record_text (built in `final`, after the
        -- join and the quarantine filter: only for quarantined rows)
        {{ segue.raw_row(record_columns) }}

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

{{ segue.contact_fields('with_account', 'account_country') }},

validated as (

    select
        *,
        coalesce(
            case when message_id is null then 'missing id' end,
            case when anonymous_id is null and customer_id is null then 'missing identity' end,
            {{ segue.timestamp_issue('identified_at_raw', 'identified_at') }}
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
        {{ segue.record_text(record_columns, carried=true) }} as record_text,
        quarantine_reason

    from validated

)

select * from final
