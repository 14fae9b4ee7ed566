{{ config(materialized='view') }}

{%- set raw_types = segue.raw_column_types(source('catalog', 'inventory')) %}

with

source as (

    select * from {{ source('catalog', 'inventory') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('product_id') }} as product_id,
        -- 'online' in any case or spacing is the web shop; anything else a store_id.
        case
            when {{ segue.clean_lower('location_id') }} = 'online' then 'online'
            else {{ segue.clean_text('location_id') }}
        end as location_id,

        ---------- numerics
        {{ segue.raw_value('quantity_on_hand', raw_types) }} as quantity_on_hand_raw,
        {{ segue.typed('quantity_on_hand', dbt.type_int()) }} as quantity_on_hand,

        ---------- timestamps
        {{ segue.raw_value('recorded_at', raw_types) }} as recorded_at_raw,
        {{ segue.typed('recorded_at', dbt.type_timestamp()) }} as recorded_at,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text([
            'product_id', 'location_id', 'quantity_on_hand', 'recorded_at'
        ]) }} as record_text

    from source

),

validated as (

    select
        *,
        coalesce(
            case when product_id is null or location_id is null then 'missing id' end,
            {{ segue.timestamp_issue('recorded_at_raw', 'recorded_at') }},
            case when quantity_on_hand_raw is null then 'missing quantity' end,
            case when quantity_on_hand is null then 'unparseable number' end,
            case when quantity_on_hand < 0 then 'negative quantity' end
        ) as quarantine_reason

    from renamed

),

final as (

    select
        product_id,
        location_id,
        quantity_on_hand,
        recorded_at,
        {{ dbt.concat([
            "coalesce(product_id, 'null')", "'@'", "coalesce(location_id, 'null')", "'@'",
            "coalesce(cast(recorded_at_raw as " ~ dbt.type_string() ~ "), 'null')"
        ]) }} as record_id,
        recorded_at as record_occurred_at,
        record_text,
        quarantine_reason

    from validated

)

select * from final
