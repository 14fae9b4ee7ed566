{{ config(materialized='view') }}

with

source as (

    select * from {{ source('catalog', 'stores') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('store_id') }} as store_id,

        ---------- strings
        {{ segue.clean_text('name') }} as store_name,
        {{ segue.clean_text('city') }} as city,
        upper({{ segue.clean_text('country') }}) as country,
        {{ segue.clean_text('timezone') }} as timezone,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text(['store_id', 'name', 'city', 'country', 'timezone']) }} as record_text

    from source

),

final as (

    select
        store_id,
        store_name,
        city,
        country,
        timezone,
        store_id as record_id,
        cast(null as {{ dbt.type_timestamp() }}) as record_occurred_at,
        record_text,
        case when store_id is null then 'missing id' end as quarantine_reason

    from renamed

)

select * from final
