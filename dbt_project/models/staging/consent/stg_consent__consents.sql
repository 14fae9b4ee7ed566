with

base_consents as (

    select * from {{ ref('base_consent__consents') }}
    where quarantine_reason is null

),

ranked as (

    -- A consent_id delivered twice is one record: keep its latest version.
    select
        *,
        row_number() over (
            partition by consent_id
            order by
                recorded_at desc,
                channel asc nulls last,
                identifier_type asc nulls last,
                identifier_value asc nulls last,
                status asc nulls last,
                consent_source asc nulls last
        ) as version_rank

    from base_consents

),

final as (

    select
        consent_id,
        channel,
        identifier_type,
        identifier_value,
        status,
        is_opted_in,
        consent_source,
        recorded_at

    from ranked
    where version_rank = 1

)

select * from final
