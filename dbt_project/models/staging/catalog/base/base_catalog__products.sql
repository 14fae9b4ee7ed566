{{ config(materialized='view') }}

{%- set raw_types = segue.raw_column_types(source('catalog', 'products')) %}

with

source as (

    select * from {{ source('catalog', 'products') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('product_id') }} as product_id,

        ---------- strings
        {{ segue.clean_text('name') }} as product_name,
        {{ segue.clean_text('category') }} as category,
        {{ segue.clean_text('brand') }} as brand,

        ---------- numerics
        {{ segue.raw_value('price', raw_types) }} as price_raw,
        {{ segue.typed('price', dbt.type_numeric()) }} as price,

        ---------- booleans
        {{ segue.typed('is_active', dbt.type_boolean()) }} as is_active,

        ---------- timestamps
        {{ segue.raw_value('updated_at', raw_types) }} as updated_at_raw,
        {{ segue.typed('updated_at', dbt.type_timestamp()) }} as updated_at,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text([
            'product_id', 'name', 'category', 'price', 'is_active', 'updated_at'
        ]) }} as record_text

    from source

),

validated as (

    select
        *,
        coalesce(
            case when product_id is null then 'missing id' end,
            -- updated_at only orders a product's versions: it may be absent.
            {{ segue.timestamp_issue('updated_at_raw', 'updated_at', required=false) }},
            case when price_raw is not null and price is null then 'unparseable number' end
        ) as quarantine_reason

    from renamed

),

final as (

    select
        product_id,
        product_name,
        category,
        brand,
        price,
        is_active,
        updated_at,
        product_id as record_id,
        updated_at as record_occurred_at,
        record_text,
        quarantine_reason

    from validated

)

select * from final
