{#-
    The SQL of the view base_segment__events: Segment track events
    (raw.events), cleaned, typed and validated:
    one row per raw row with its quarantine_reason.

    Shared by the view and an incremental run of stg_segment__events, which
    cleans only the unstaged raw rows (unstaged_raw_rows,
    macros/staging/incremental_staging.sql).

    source_relation  the raw table (a source())
-#}
{% macro base_segment__events(source_relation) -%}

{%- set event_names = var('segment_event_names') %}
{%- set raw_types = segue.raw_column_types(source_relation) %}

with

source as (

    -- every raw row; on an incremental run of the staging model, the unstaged ones
    {{ segue.unstaged_raw_rows(source_relation, 'event_id') }}

),

-- The spec's event names, keyed by their lower-case spelling.
event_names as (

    {%- for event_name in event_names %}
    select
        '{{ event_name | lower }}' as event_key,
        '{{ event_name }}' as event_name
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

-- Each event's name in the spec's spelling, by a join rather than a `case`
-- over the names: DuckDB repeats a `case` operand once per branch where it
-- pushes the quarantine filter down, and here the operand is the cleaned
-- name of every event (bench/results.md). Joined before `renamed`, so the
-- quarantine filter still runs before record_text is built.
named as (

    select
        source.*,
        event_names.event_name as spec_event_name
    from source
    left join event_names
        on {{ segue.clean_lower('source.event') }} = event_names.event_key

),

renamed as (

    select
        ---------- ids
        {{ segue.clean_text('event_id') }} as event_id,
        {{ segue.clean_lower('anonymous_id') }} as anonymous_id,
        -- Segment's user_id is the web account id (CONTRACT §2).
        {{ segue.clean_text('user_id') }} as customer_id,
        {{ segue.clean_text('product_id') }} as product_id,
        {{ segue.clean_text('order_id') }} as order_id,

        ---------- strings
        {{ segue.clean_text('event') }} as event_name_text,
        -- the spec's spelling, whatever the case or spacing it arrived in
        spec_event_name as event_name,
        {{ segue.clean_lower('source') }} as event_source,

        ---------- numerics
        {{ segue.raw_value('quantity', raw_types) }} as quantity_raw,
        {{ segue.typed('quantity', dbt.type_int()) }} as quantity,
        {{ segue.raw_value('price', raw_types) }} as price_raw,
        {{ segue.typed('price', dbt.type_numeric()) }} as price,
        {{ segue.raw_value('revenue', raw_types) }} as revenue_raw,
        {{ segue.typed('revenue', dbt.type_numeric()) }} as revenue,

        ---------- timestamps
        {{ segue.raw_value('timestamp', raw_types) }} as occurred_at_raw,
        {{ segue.typed(adapter.quote('timestamp'), dbt.type_timestamp()) }} as occurred_at,

        ---------- the raw row, for stg_quarantined_rows
        {{ segue.record_text([
            'event_id', 'anonymous_id', 'user_id', 'event', 'quantity', 'timestamp'
        ]) }} as record_text

    from named

),

validated as (

    select
        *,
        coalesce(
            case when event_id is null then 'missing id' end,
            case when anonymous_id is null and customer_id is null then 'missing identity' end,
            {{ segue.timestamp_issue('occurred_at_raw', 'occurred_at') }},
            case when event_name is null then 'unknown event name' end,
            case
                when
                    (quantity_raw is not null and quantity is null)
                    or (price_raw is not null and price is null)
                    or (revenue_raw is not null and revenue is null)
                    then 'unparseable number'
            end,
            case when quantity < 0 then 'negative quantity' end
        ) as quarantine_reason

    from renamed

),

final as (

    select
        event_id,
        anonymous_id,
        customer_id,
        product_id,
        order_id,
        event_name,
        event_source,
        quantity,
        price,
        revenue,
        occurred_at,
        event_id as record_id,
        occurred_at as record_occurred_at,
        record_text,
        quarantine_reason

    from validated

)

select * from final
{%- endmacro %}
