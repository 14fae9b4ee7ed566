{{ config(materialized='view') }}

{%- set record_columns = [
    'transaction_id', 'store_id', 'loyalty_id', 'receipt_email',
    'phone', 'total_amount', 'transacted_at'
] %}
{%- set raw_types = segue.raw_column_types(source('pos', 'pos_transactions')) %}

with

source as (

    select * from {{ source('pos', 'pos_transactions') }}

),

stores as (

    select * from {{ ref('stg_catalog__stores') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('transaction_id') }} as transaction_id,
        {{ segue.clean_text('store_id') }} as store_id,
        {{ segue.clean_text('loyalty_id') }} as loyalty_id,

        ---------- strings
        {{ segue.clean_email('receipt_email') }} as email_text,
        {{ segue.clean_text('phone') }} as phone_text,
        {{ segue.phone_digits('phone') }} as phone_digits,
        upper({{ segue.clean_text('currency') }}) as currency,

        ---------- numerics
        {{ segue.raw_value('total_amount', raw_types) }} as total_amount_raw,
        {{ segue.typed('total_amount', dbt.type_numeric()) }} as total_amount,

        ---------- timestamps
        {{ segue.raw_value('transacted_at', raw_types) }} as transacted_at_raw,
        {{ segue.typed('transacted_at', dbt.type_timestamp()) }} as transacted_at,

        ---------- the raw row, for record_text (built in `final`, after the
        -- join and the quarantine filter: only for quarantined rows)
        {{ segue.raw_row(record_columns) }}

    from source

),

with_store as (

    -- A phone written without + is read in the store's country.
    select
        renamed.*,
        stores.country as store_country

    from renamed
    left join stores
        on renamed.store_id = stores.store_id

),

{{ segue.contact_fields('with_store', 'store_country') }},

validated as (

    select
        *,
        coalesce(
            case when transaction_id is null then 'missing id' end,
            {{ segue.timestamp_issue('transacted_at_raw', 'transacted_at') }},
            case when total_amount_raw is not null and total_amount is null then 'unparseable number' end
        ) as quarantine_reason

    from flagged

),

final as (

    select
        transaction_id,
        store_id,
        loyalty_id,
        email,
        phone,
        currency,
        total_amount,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        transacted_at,
        transaction_id as record_id,
        transacted_at as record_occurred_at,
        {{ segue.record_text(record_columns, carried=true) }} as record_text,
        quarantine_reason

    from validated

)

select * from final
