{#-
    Survivorship of contact fields: per customer, every email and phone seen
    on a record, with where and when, ranked. Rank 1 is the profile's email
    or phone (is_chosen): the most recent value, and on a tie of time the
    more trusted source:

        account  (stg_shop__customers)      when the account's current value was set
      > loyalty  (stg_loyalty__members)     when the card's current value was set
      > order    (stg_shop__orders)         ordered_at of the latest order using it
      > identify (stg_segment__identifies)  identified_at of the latest call using it
      > pos      (stg_pos__transactions)    transacted_at of the latest receipt using it
      > consent  (stg_consent__consents)    recorded_at of the latest consent row naming it

    then the smaller value (deterministic). An account or a card is a record
    that changes: its updated_at moves with any field (points, tier), so the
    time its email or phone was *set* is read from its versions (the base_
    views keep every delivered version): the version where the current value
    last started, at created_at / enrolled_at for the record's first version,
    else at that version's updated_at.

    A value counts only when it is valid, not a placeholder (staging flags,
    seed blocked_identifier_values) and resolved to this customer in
    marts.customer_identifiers: an address identity resolution blocked or
    gave to someone else never becomes this customer's contact. Nothing after
    as-of counts.
-#}

{%- set records = [
    {'name': 'account', 'base': 'base_shop__customers', 'current': 'stg_shop__customers',
     'key': 'customer_id', 'created_at': 'created_at', 'priority': 1},
    {'name': 'loyalty', 'base': 'base_loyalty__members', 'current': 'stg_loyalty__members',
     'key': 'loyalty_id', 'created_at': 'enrolled_at', 'priority': 2},
] %}
{%- set events = [
    {'name': 'order', 'model': 'stg_shop__orders', 'at': 'ordered_at', 'priority': 3},
    {'name': 'identify', 'model': 'stg_segment__identifies', 'at': 'identified_at', 'priority': 4},
    {'name': 'pos', 'model': 'stg_pos__transactions', 'at': 'transacted_at', 'priority': 5},
] %}
{%- set event_fields = [] %}
{%- for event in events %}
{%- for field in ['email', 'phone'] %}
{%- do event_fields.append((event, field)) %}
{%- endfor %}
{%- endfor %}

with

identifiers as (

    select * from {{ ref('customer_identifiers') }}
    where identifier_type in ('email', 'phone')

),

{%- for record in records %}

{{ record.name }}_versions as (

    select
        {{ record.key }} as record_key,
        email,
        phone,
        updated_at,
        case
            when row_number() over (partition by {{ record.key }} order by updated_at asc) = 1
                then coalesce({{ record.created_at }}, updated_at)
            else updated_at
        end as version_at,
        lag(email) over (partition by {{ record.key }} order by updated_at asc) as previous_email,
        lag(phone) over (partition by {{ record.key }} order by updated_at asc) as previous_phone,
        row_number() over (partition by {{ record.key }} order by updated_at asc) as version_number

    from {{ ref(record.base) }}
    where quarantine_reason is null and updated_at <= {{ segue.segue_now() }}

),

{{ record.name }}_current as (

    select * from {{ ref(record.current) }}
    where updated_at <= {{ segue.segue_now() }}

),
{%- for field in ['email', 'phone'] %}

{{ record.name }}_{{ field }}_observations as (

    -- The current {{ field }}, observed when its latest run of versions began.
    select
        '{{ field }}' as identifier_type,
        current_records.{{ field }} as identifier_value,
        '{{ record.name }}' as observed_in,
        {{ record.priority }} as source_priority,
        coalesce(max(versions.version_at), max(current_records.updated_at)) as observed_at

    from {{ record.name }}_current as current_records
    left join {{ record.name }}_versions as versions
        on
            current_records.{{ record.key }} = versions.record_key
            and current_records.{{ field }} = versions.{{ field }}
            and (
                versions.version_number = 1
                or versions.previous_{{ field }} is null
                or versions.previous_{{ field }} <> versions.{{ field }}
            )
    where
        current_records.{{ field }} is not null
        and not current_records.is_placeholder_{{ field }}
    group by current_records.{{ record.key }}, current_records.{{ field }}

),
{%- endfor %}
{%- endfor %}
{%- for event in events %}

{{ event.name }}_records as (

    select * from {{ ref(event.model) }}
    where {{ event.at }} <= {{ segue.segue_now() }}

),
{%- endfor %}

consent_records as (

    -- A consent row names an address the customer gave (at the till, by
    -- keyword): the least trusted sighting. Blocked values are not in
    -- customer_identifiers, so they drop out at the join below.
    select * from {{ ref('stg_consent__consents') }}
    where recorded_at <= {{ segue.segue_now() }}

),

observations as (

    {%- for record in records %}
    {%- for field in ['email', 'phone'] %}
    select * from {{ record.name }}_{{ field }}_observations
    union all
    {%- endfor %}
    {%- endfor %}

    select
        identifier_type,
        identifier_value,
        'consent' as observed_in,
        6 as source_priority,
        recorded_at as observed_at
    from consent_records
    where identifier_type in ('email', 'phone')

    union all
    {%- for event, field in event_fields %}
    select
        '{{ field }}' as identifier_type,
        {{ field }} as identifier_value,
        '{{ event.name }}' as observed_in,
        {{ event.priority }} as source_priority,
        {{ event.at }} as observed_at
    from {{ event.name }}_records
    where {{ field }} is not null and not is_placeholder_{{ field }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

latest_per_source as (

    -- One row per value and source: its latest sighting there.
    select
        identifier_type,
        identifier_value,
        observed_in,
        source_priority,
        max(observed_at) as observed_at,
        count(*) as observations_count

    from observations
    group by identifier_type, identifier_value, observed_in, source_priority

),

resolved as (

    select
        identifiers.customer_key,
        latest_per_source.*

    from latest_per_source
    inner join identifiers
        on
            latest_per_source.identifier_type = identifiers.identifier_type
            and latest_per_source.identifier_value = identifiers.identifier_value

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_key, identifier_type
            order by observed_at desc, source_priority asc, identifier_value asc
        ) as survivorship_rank

    from resolved

),

final as (

    select
        customer_key,
        identifier_type,
        identifier_value,
        observed_in,
        observed_at,
        observations_count,
        survivorship_rank,
        survivorship_rank = 1 as is_chosen

    from ranked

)

select * from final
