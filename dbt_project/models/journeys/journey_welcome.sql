{#-
    Welcome series: a new online account (stg_shop__customers.created_at) or
    a loyalty enrolment (stg_loyalty__members.enrolled_at) triggers it. Steps:
    email now; email at +2 days unless the customer purchased since the
    trigger (exit: the first completed purchase after it; the first email
    ignores the exit).
-#}

with

accounts as (

    select * from {{ ref('stg_shop__customers') }}

),

members as (

    select * from {{ ref('stg_loyalty__members') }}

),

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

purchases as (

    select * from {{ ref('int_journeys__purchases') }}

),

signups as (

    select
        identifiers.customer_key,
        {{ dbt.concat(["'account:'", 'accounts.customer_id']) }} as trigger_id,
        accounts.created_at as triggered_at

    from accounts
    inner join identifiers
        on
            identifiers.identifier_type = 'customer_id'
            and accounts.customer_id = identifiers.identifier_value

    union all

    select
        identifiers.customer_key,
        {{ dbt.concat(["'loyalty:'", 'members.loyalty_id']) }} as trigger_id,
        members.enrolled_at as triggered_at

    from members
    inner join identifiers
        on
            identifiers.identifier_type = 'loyalty_id'
            and members.loyalty_id = identifiers.identifier_value

),

first_purchase_after as (

    select
        signups.trigger_id,
        min(purchases.purchased_at) as purchased_at

    from signups
    inner join purchases
        on
            signups.customer_key = purchases.customer_key
            and signups.triggered_at <= purchases.purchased_at
    group by signups.trigger_id

),

instances as (

    select
        signups.customer_key,
        signups.trigger_id,
        signups.triggered_at,
        first_purchase_after.purchased_at as exit_at,
        case when first_purchase_after.purchased_at is not null then 'purchase completed' end as exit_reason,
        cast(null as {{ dbt.type_string() }}) as payload_product_ids,
        cast(null as {{ dbt.type_string() }}) as payload_product_names,
        cast(null as {{ dbt.type_string() }}) as payload_category,
        cast(null as {{ dbt.type_int() }}) as payload_points_balance,
        cast(null as {{ dbt.type_string() }}) as payload_loyalty_tier,
        cast(null as {{ dbt.type_timestamp() }}) as payload_points_expire_at

    from signups
    left join first_purchase_after
        on signups.trigger_id = first_purchase_after.trigger_id
    where signups.triggered_at is not null

),

{{ segue.journey_due_steps('welcome', 'instances') }}

select * from final
