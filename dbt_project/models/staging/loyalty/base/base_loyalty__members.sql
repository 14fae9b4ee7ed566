{{ config(materialized='view') }}

{%- set record_columns = [
    'loyalty_id', 'customer_id', 'email', 'phone',
    'tier', 'home_store_id', 'enrolled_at', 'updated_at'
] %}
{%- set raw_types = segue.raw_column_types(source('loyalty', 'loyalty_members')) %}

with

source as (

    select * from {{ source('loyalty', 'loyalty_members') }}

),

stores as (

    select * from {{ ref('stg_catalog__stores') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('loyalty_id') }} as loyalty_id,
        {{ segue.clean_text('customer_id') }} as customer_id,
        {{ segue.clean_text('home_store_id') }} as home_store_id,

        ---------- strings
        {{ segue.clean_email('email') }} as email_text,
        {{ segue.clean_text('phone') }} as phone_text,
        {{ segue.phone_digits('phone') }} as phone_digits,
        {{ segue.clean_lower('tier') }} as tier,

        ---------- numerics
        {{ segue.raw_value('points_balance', raw_types) }} as points_balance_raw,
        {{ segue.typed('points_balance', dbt.type_int()) }} as points_balance,

        ---------- timestamps
        {{ segue.raw_value('enrolled_at', raw_types) }} as enrolled_at_raw,
        {{ segue.typed('enrolled_at', dbt.type_timestamp()) }} as enrolled_at,
        {{ segue.raw_value('updated_at', raw_types) }} as updated_at_raw,
        {{ segue.typed('updated_at', dbt.type_timestamp()) }} as updated_at,

        ---------- the raw row, for record_text (built in `final`, after the
        -- join and the quarantine filter: only for quarantined rows)
        {{ segue.raw_row(record_columns) }}

    from source

),

with_home_store as (

    -- A phone written without + is read in the home store's country.
    select
        renamed.*,
        stores.country as home_store_country

    from renamed
    left join stores
        on renamed.home_store_id = stores.store_id

),

{{ segue.contact_fields('with_home_store', 'home_store_country') }},

validated as (

    select
        *,
        coalesce(
            case when loyalty_id is null then 'missing id' end,
            case when enrolled_at_raw is null and updated_at_raw is null then 'missing timestamp' end,
            {{ segue.timestamp_issue('enrolled_at_raw', 'enrolled_at', required=false) }},
            {{ segue.timestamp_issue('updated_at_raw', 'updated_at', required=false) }},
            case when points_balance_raw is not null and points_balance is null then 'unparseable number' end
        ) as quarantine_reason

    from flagged

),

final as (

    select
        loyalty_id,
        customer_id,
        home_store_id,
        email,
        phone,
        tier,
        points_balance,
        is_email_invalid,
        is_phone_invalid,
        is_placeholder_email,
        is_placeholder_phone,
        enrolled_at,
        coalesce(updated_at, enrolled_at) as updated_at,
        loyalty_id as record_id,
        coalesce(updated_at, enrolled_at) as record_occurred_at,
        {{ segue.record_text(record_columns, carried=true) }} as record_text,
        quarantine_reason

    from validated

)

select * from final
