with

{% for source_system, source_table, base_model, stg_model in segue.staging_tables() %}
{{ base_model }}_counts as (

    select
        '{{ source_system }}' as source_system,
        '{{ source_table }}' as source_table,
        count(*) as raw_rows,
        sum(case when quarantine_reason is null then 1 else 0 end) as usable_rows,
        sum(case when quarantine_reason is null then 0 else 1 end) as quarantined_rows

    from {{ ref(base_model) }}

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
        source_system,
        source_table,
        raw_rows,
        quarantined_rows,
        usable_rows,
        staged_rows,
        usable_rows - staged_rows as duplicate_rows

    from unioned

)

select * from final
