{{ config(schema='marts') }}

{#-
    One row per resolved customer (every customer_key of
    marts.customer_identifiers): the golden record and its traits.
    The rules are documented in _profiles__models.yml and dbt_project/README.md
    ("Profiles").
-#}

with

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

contact_points as (

    select * from {{ ref('int_profiles__contact_points') }}
    where is_chosen

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

loyalty_members as (

    select * from {{ ref('stg_loyalty__members') }}

),

stores as (

    select * from {{ ref('stg_catalog__stores') }}

),

country_timezones as (

    select * from {{ ref('country_timezones') }}

),

calling_codes as (

    select * from {{ ref('country_calling_codes') }}

),

purchases as (

    select * from {{ ref('int_profiles__purchases') }}
    where is_counted and customer_key is not null

),

order_summary as (

    select * from {{ ref('int_profiles__order_summary') }}

),

rfm as (

    select * from {{ ref('int_profiles__rfm') }}

),

favorite_categories as (

    select * from {{ ref('int_profiles__favorite_categories') }}

),

engagement as (

    select * from {{ ref('int_profiles__engagement') }}

),

activity as (

    select * from {{ ref('int_profiles__activity') }}

),

consent as (

    select * from {{ ref('int_consent__address_state') }}

),

customer_keys as (

    select distinct customer_key from identifiers

),

id_values as (

    -- A customer holds at most one customer_id and one loyalty_id (identity's
    -- limits); should a rule allow more, the smallest is shown. An id counts
    -- even when no account or card row exists for it (an order's customer_id,
    -- a receipt's loyalty_id).
    select
        customer_key,
        min(case when identifier_type = 'customer_id' then identifier_value end) as customer_id,
        min(case when identifier_type = 'loyalty_id' then identifier_value end) as loyalty_id

    from identifiers
    where identifier_type in ('customer_id', 'loyalty_id')
    group by customer_key

),

accounts as (

    -- The account speaks for names and country; should a customer hold two,
    -- the most recently updated one.
    select
        identifiers.customer_key,
        customers.customer_id,
        {{ segue.name_case('customers.first_name') }} as first_name,
        {{ segue.name_case('customers.last_name') }} as last_name,
        customers.country,
        row_number() over (
            partition by identifiers.customer_key
            order by customers.updated_at desc, customers.customer_id asc
        ) as account_rank

    from identifiers
    inner join customers
        on
            identifiers.identifier_type = 'customer_id'
            and identifiers.identifier_value = customers.customer_id

),

loyalty as (

    -- Likewise one loyalty card per customer: its tier and points, whatever
    -- channel earned them, show on the one profile the card resolved to.
    select
        identifiers.customer_key,
        loyalty_members.loyalty_id,
        loyalty_members.tier,
        loyalty_members.points_balance,
        loyalty_members.home_store_id,
        row_number() over (
            partition by identifiers.customer_key
            order by loyalty_members.updated_at desc, loyalty_members.loyalty_id asc
        ) as loyalty_rank

    from identifiers
    inner join loyalty_members
        on
            identifiers.identifier_type = 'loyalty_id'
            and identifiers.identifier_value = loyalty_members.loyalty_id

),

store_visits as (

    -- Without a loyalty card, the home store is the store visited most
    -- (ties: the latest visit, then the smaller id).
    select
        customer_key,
        store_id,
        row_number() over (
            partition by customer_key
            order by count(*) desc, max(purchased_at) desc, store_id asc
        ) as visit_rank

    from purchases
    where purchase_channel = 'store' and store_id is not null
    group by customer_key, store_id

),

chosen_contacts as (

    select
        customer_key,
        max(case when identifier_type = 'email' then identifier_value end) as email,
        max(case when identifier_type = 'phone' then identifier_value end) as phone

    from contact_points
    group by customer_key

),

phone_countries as (

    -- The country a chosen phone's calling code names, when it names only
    -- one (+44 is GB; +1 is US or CA, so it names none).
    select
        chosen_contacts.customer_key,
        max(calling_codes.country) as country

    from chosen_contacts
    inner join calling_codes
        on
            {{ dbt.position(dbt.concat(["'+'", 'calling_codes.calling_code']), 'chosen_contacts.phone') }} = 1
    group by chosen_contacts.customer_key
    having count(*) = 1

),

channel_engagement as (

    select
        customer_key,
        max(case when channel = 'email' then engagements_count end) as email_engagements,
        max(case when channel = 'sms' then engagements_count end) as sms_engagements,
        max(case when channel = 'email' then last_engaged_at end) as email_last_engaged_at,
        max(case when channel = 'sms' then last_engaged_at end) as sms_last_engaged_at

    from engagement
    group by customer_key

),

joined as (

    select
        customer_keys.customer_key,
        chosen_contacts.email,
        chosen_contacts.phone,
        id_values.customer_id,
        id_values.loyalty_id,
        accounts.first_name,
        accounts.last_name,
        coalesce(accounts.country, home_store.country, phone_countries.country) as country,
        case
            when accounts.country is not null then 'account'
            when home_store.country is not null then 'home_store'
            when phone_countries.country is not null then 'phone'
        end as country_source,
        loyalty.tier as loyalty_tier,
        loyalty.points_balance,
        coalesce(order_summary.orders_count, 0) as orders_count,
        coalesce(order_summary.online_orders_count, 0) as online_orders_count,
        coalesce(order_summary.store_transactions_count, 0) as store_transactions_count,
        coalesce(order_summary.lifetime_revenue, 0) as lifetime_revenue,
        order_summary.average_order_value,
        order_summary.first_order_at,
        order_summary.last_order_at,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.rfm_score,
        coalesce(rfm.rfm_segment, 'no_orders') as rfm_segment,
        favorite_categories.favorite_category,
        coalesce(loyalty.home_store_id, store_visits.store_id) as home_store_id,
        case
            when loyalty.home_store_id is not null then 'loyalty'
            when store_visits.store_id is not null then 'most_visited'
        end as home_store_source,
        coalesce(home_store.timezone, country_timezones.timezone, 'UTC') as timezone,
        case
            when home_store.timezone is not null then 'home_store'
            when country_timezones.timezone is not null then 'country'
            else 'default'
        end as timezone_source,
        coalesce(email_consent.is_opted_in, false) as email_consent,
        email_consent.status_changed_at as email_consent_changed_at,
        coalesce(sms_consent.is_opted_in, false) as sms_consent,
        sms_consent.status_changed_at as sms_consent_changed_at,
        coalesce(push_consent.is_opted_in, false) as push_consent,
        coalesce(channel_engagement.email_engagements, 0) as email_engagements,
        coalesce(channel_engagement.sms_engagements, 0) as sms_engagements,
        channel_engagement.email_last_engaged_at,
        channel_engagement.sms_last_engaged_at,
        activity.last_active_at

    from customer_keys
    left join chosen_contacts
        on customer_keys.customer_key = chosen_contacts.customer_key
    left join id_values
        on customer_keys.customer_key = id_values.customer_key
    left join accounts
        on
            customer_keys.customer_key = accounts.customer_key
            and accounts.account_rank = 1
    left join loyalty
        on
            customer_keys.customer_key = loyalty.customer_key
            and loyalty.loyalty_rank = 1
    left join store_visits
        on
            customer_keys.customer_key = store_visits.customer_key
            and store_visits.visit_rank = 1
    left join phone_countries
        on customer_keys.customer_key = phone_countries.customer_key
    left join stores as home_store
        on coalesce(loyalty.home_store_id, store_visits.store_id) = home_store.store_id
    left join country_timezones
        on coalesce(accounts.country, home_store.country, phone_countries.country) = country_timezones.country
    left join order_summary
        on customer_keys.customer_key = order_summary.customer_key
    left join rfm
        on customer_keys.customer_key = rfm.customer_key
    left join favorite_categories
        on customer_keys.customer_key = favorite_categories.customer_key
    left join channel_engagement
        on customer_keys.customer_key = channel_engagement.customer_key
    left join activity
        on customer_keys.customer_key = activity.customer_key
    left join consent as email_consent
        on
            email_consent.channel = 'email'
            and email_consent.identifier_type = 'email'
            and chosen_contacts.email = email_consent.identifier_value
    left join consent as sms_consent
        on
            sms_consent.channel = 'sms'
            and sms_consent.identifier_type = 'phone'
            and chosen_contacts.phone = sms_consent.identifier_value
    left join consent as push_consent
        on
            push_consent.channel = 'push'
            and push_consent.identifier_type = 'email'
            and chosen_contacts.email = push_consent.identifier_value

),

with_preferred_channel as (

    -- preferred_channel: of the channels the chosen address may receive
    -- (current opt-in), the one with more opens and clicks in the lookback;
    -- a tie goes to the channel engaged with most recently, then email.
    -- 'none' when neither address holds consent.
    select
        *,
        case
            when not email_consent and not sms_consent then 'none'
            when not sms_consent then 'email'
            when not email_consent then 'sms'
            when sms_engagements > email_engagements then 'sms'
            when email_engagements > sms_engagements then 'email'
            when sms_last_engaged_at > email_last_engaged_at then 'sms'
            when sms_last_engaged_at is not null and email_last_engaged_at is null then 'sms'
            else 'email'
        end as preferred_channel

    from joined

),

final as (

    select
        -- CONTRACT §3
        customer_key,
        email,
        phone,
        customer_id,
        loyalty_id,
        first_name,
        last_name,
        country,
        loyalty_tier,
        points_balance,
        orders_count,
        lifetime_revenue,
        first_order_at,
        last_order_at,
        rfm_segment,
        favorite_category,
        preferred_channel,
        email_consent,
        sms_consent,
        -- traits beyond the contract
        online_orders_count,
        store_transactions_count,
        average_order_value,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_score,
        home_store_id,
        home_store_source,
        timezone,
        timezone_source,
        country_source,
        email_consent_changed_at,
        sms_consent_changed_at,
        push_consent,
        email_engagements,
        sms_engagements,
        email_last_engaged_at,
        sms_last_engaged_at,
        last_active_at

    from with_preferred_channel

)

select * from final
