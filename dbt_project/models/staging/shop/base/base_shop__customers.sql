{{ config(materialized='view') }}

{%- set raw_types = segue.raw_column_types(source('shop', 'customers')) %}

with

source as (

    select * from {{ source('shop', 'customers') }}

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
        {{ segue.raw_value('created_at', raw_types) }} as created_at_raw,
        {{ segue.typed('created_at', dbt.type_timestamp()) }} as created_at,
        {{ segue.raw_value('updated_at', raw_types) }} as updated_at_raw,
        {{ segue.typed('updated_at', dbt.type_timestamp()) }} as updated_at,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text([
            'customer_id', 'email', 'phone', 'country', 'created_at', 'updated_at'
        ]) }} as record_text

    from source

),

{{ segue.contact_fields('renamed', 'country') }},

validated as (

    select
        *,
        coalesce(
            case when customer_id is null then 'missing id' end,
            case when created_at_raw is null and updated_at_raw is null then 'missing timestamp' end,
            {{ segue.timestamp_issue('created_at_raw', 'created_at', required=false) }},
            {{ segue.timestamp_issue('updated_at_raw', 'updated_at', required=false) }}
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
