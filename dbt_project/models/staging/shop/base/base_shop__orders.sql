{{ config(materialized='view') }}

{%- set record_columns = ['order_id', 'customer_id', 'email', 'phone', 'status', 'total_amount', 'ordered_at'] %}
{%- set raw_types = segue.raw_column_types(source('shop', 'orders')) %}

with

source as (

    select * from {{ source('shop', 'orders') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

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
        {{ segue.raw_value('total_amount', raw_types) }} as total_amount_raw,
        {{ segue.typed('total_amount', dbt.type_numeric()) }} as total_amount,

        ---------- timestamps
        {{ segue.raw_value('ordered_at', raw_types) }} as ordered_at_raw,
        {{ segue.typed('ordered_at', dbt.type_timestamp()) }} as ordered_at,

        ---------- the raw row, for record_text (built in `final`, after the
        -- join and the quarantine filter: only for quarantined rows)
        {{ segue.raw_row(record_columns) }}

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

{{ segue.contact_fields('with_account', 'account_country') }},

validated as (

    select
        *,
        coalesce(
            case when order_id is null then 'missing id' end,
            {{ segue.timestamp_issue('ordered_at_raw', 'ordered_at') }},
            case
                when status is null or status not in ({{ segue.sql_string_list(var('order_statuses')) }})
                    then 'unknown status'
            end,
            case when total_amount_raw is not null and total_amount is null then 'unparseable number' end
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
        {{ segue.record_text(record_columns, carried=true) }} as record_text,
        quarantine_reason

    from validated

)

select * from final
