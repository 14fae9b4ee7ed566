{#-
    segue.action_deliveries, or an empty relation with its columns while the
    table does not exist yet (no sync has run): builds work before any sync.
    One row per action_id (the latest attempt wins if the log repeats one).
-#}
{%- set deliveries = source('segue', 'action_deliveries') -%}
{%- set settled_statuses = "'" ~ (var('settled_delivery_statuses') | join("', '")) ~ "'" -%}
{%- set existing = adapter.get_relation(
    database=deliveries.database,
    schema=deliveries.schema,
    identifier=deliveries.identifier,
) if execute else none -%}

with

{% if existing is not none %}
source as (

    select * from {{ deliveries }}

),
{% else %}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as action_id,
        cast(null as {{ dbt.type_string() }}) as destination,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_int() }}) as attempts,
        cast(null as {{ dbt.type_string() }}) as last_error,
        cast(null as {{ dbt.type_timestamp() }}) as delivered_at
    where 1 = 0

),
{% endif %}

renamed as (

    select
        -- ids
        trim(cast(action_id as {{ dbt.type_string() }})) as action_id,
        -- strings
        lower(trim(cast(destination as {{ dbt.type_string() }}))) as destination,
        lower(trim(cast(status as {{ dbt.type_string() }}))) as status,
        cast(last_error as {{ dbt.type_string() }}) as last_error,
        -- numerics
        cast(attempts as {{ dbt.type_int() }}) as attempts,
        -- timestamps
        cast(delivered_at as {{ dbt.type_timestamp() }}) as delivered_at

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by action_id
            order by
                case status when 'delivered' then 0 when 'unknown' then 1 when 'rejected' then 2 else 3 end asc,
                delivered_at desc nulls last,
                attempts desc nulls last,
                destination asc
        ) as row_rank

    from renamed
    where action_id is not null

),

final as (

    select
        action_id,
        destination,
        status,
        last_error,
        attempts,
        delivered_at,
        status in ({{ settled_statuses }}) as is_settled_send

    from ranked
    where row_rank = 1

)

select * from final
