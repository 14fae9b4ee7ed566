with

{% for source_system, source_table, base_model, stg_model in segue.staging_tables() %}
{{ base_model }} as (

    select
        '{{ source_system }}' as source_system,
        '{{ source_table }}' as source_table,
        record_id,
        quarantine_reason,
        record_occurred_at as occurred_at,
        record_text

    from {{ ref(base_model) }}
    where quarantine_reason is not null

),

{% endfor %}
unioned as (

    {% for source_system, source_table, base_model, stg_model in segue.staging_tables() %}
    select * from {{ base_model }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        source_system,
        source_table,
        record_id,
        quarantine_reason,
        occurred_at,
        record_text

    from unioned

)

select * from final
