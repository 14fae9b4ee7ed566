-- Counts come from the raw table itself and from stg_quarantined_rows (a
-- table already built), so the base views are not evaluated a third time.
with

quarantined as (

    select
        source_table,
        count(*) as quarantined_rows

    from {{ ref('stg_quarantined_rows') }}
    group by source_table

),

{% for source_system, source_table, base_model, stg_model in segue.staging_tables() %}
{{ base_model }}_counts as (

    select
        '{{ source_system }}' as source_system,
        '{{ source_table }}' as source_table,
        count(*) as raw_rows

    from {{ source(source_system, source_table) }}

),

{{ stg_model }}_counts as (

    select count(*) as staged_rows
    from {{ ref(stg_model) }}

),

{% endfor %}
unioned as (

    {% for source_system, source_table, base_model, stg_model in segue.staging_tables() %}
    select
        {{ base_model }}_counts.*,
        {{ stg_model }}_counts.staged_rows
    from {{ base_model }}_counts
    cross join {{ stg_model }}_counts
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        unioned.source_system,
        unioned.source_table,
        unioned.raw_rows,
        coalesce(quarantined.quarantined_rows, 0) as quarantined_rows,
        unioned.raw_rows - coalesce(quarantined.quarantined_rows, 0) as usable_rows,
        unioned.staged_rows,
        unioned.raw_rows - coalesce(quarantined.quarantined_rows, 0) - unioned.staged_rows as duplicate_rows

    from unioned
    left join quarantined
        on unioned.source_table = quarantined.source_table

)

select * from final
