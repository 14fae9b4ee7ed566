{{ config(materialized='view') }}

{%- set record_columns = ['transaction_id', 'line_number', 'product_id', 'quantity', 'unit_price'] %}
{%- set raw_types = segue.raw_column_types(source('pos', 'pos_lines')) %}

with

source as (

    select * from {{ source('pos', 'pos_lines') }}

),

transactions as (

    select transaction_id from {{ ref('stg_pos__transactions') }}

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('transaction_id') }} as transaction_id,
        {{ segue.typed('line_number', dbt.type_int()) }} as line_number,
        {{ segue.clean_text('product_id') }} as product_id,

        ---------- numerics
        {{ segue.raw_value('line_number', raw_types) }} as line_number_raw,
        {{ segue.raw_value('quantity', raw_types) }} as quantity_raw,
        {{ segue.typed('quantity', dbt.type_int()) }} as quantity,
        {{ segue.raw_value('unit_price', raw_types) }} as unit_price_raw,
        {{ segue.typed('unit_price', dbt.type_numeric()) }} as unit_price,

        ---------- the raw row, for record_text (built in `final`, after the
        -- join and the quarantine filter: only for quarantined rows)
        {{ segue.raw_row(record_columns) }}

    from source

),

validated as (

    select
        renamed.*,
        coalesce(
            case when renamed.transaction_id is null or renamed.line_number is null then 'missing id' end,
            case
                when
                    (renamed.quantity_raw is not null and renamed.quantity is null)
                    or (renamed.unit_price_raw is not null and renamed.unit_price is null)
                    then 'unparseable number'
            end,
            case when renamed.quantity < 0 then 'negative quantity' end,
            -- A line whose transaction is missing or quarantined: nothing can use it.
            case when transactions.transaction_id is null then 'orphan line' end
        ) as quarantine_reason

    from renamed
    left join transactions
        on renamed.transaction_id = transactions.transaction_id

),

final as (

    select
        {{ dbt.concat([
            'transaction_id', "'-'", 'cast(line_number as ' ~ dbt.type_string() ~ ')'
        ]) }} as pos_line_id,
        transaction_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        quantity * unit_price as line_amount,
        {{ dbt.concat([
            "coalesce(transaction_id, 'null')", "':'", "coalesce(cast(line_number_raw as " ~ dbt.type_string() ~ "), 'null')"
        ]) }} as record_id,
        cast(null as {{ dbt.type_timestamp() }}) as record_occurred_at,
        {{ segue.record_text(record_columns, carried=true) }} as record_text,
        quarantine_reason

    from validated

)

select * from final
