{#-
    Every online order (any status) and every in-store transaction, with the
    customer it belongs to. Nothing is dropped: a purchase no identifier
    resolves (a guest order with placeholder contacts, a cash sale with no
    card or receipt) keeps customer_key null, and is_counted says whether it
    counts toward orders_count and lifetime_revenue (CONTRACT §3: completed
    online orders and in-store transactions, zero-amount ones included,
    cancelled and refunded excluded, nothing after as-of).

    The customer is found through the record's identifiers in
    marts.customer_identifiers, highest priority first: an order's
    customer_id, then its email, then its phone; a transaction's loyalty_id,
    then its receipt email, then its phone. Placeholder emails and phones
    never attribute anything.
-#}

with

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

transactions as (

    select * from {{ ref('stg_pos__transactions') }}

),

online_purchases as (

    select
        orders.order_id as purchase_id,
        'online' as purchase_channel,
        coalesce(by_customer_id.customer_key, by_email.customer_key, by_phone.customer_key) as customer_key,
        case
            when by_customer_id.customer_key is not null then 'customer_id'
            when by_email.customer_key is not null then 'email'
            when by_phone.customer_key is not null then 'phone'
        end as resolved_by,
        orders.status,
        cast(null as {{ dbt.type_string() }}) as store_id,
        orders.currency,
        orders.total_amount,
        orders.ordered_at as purchased_at

    from orders
    left join identifiers as by_customer_id
        on
            by_customer_id.identifier_type = 'customer_id'
            and orders.customer_id = by_customer_id.identifier_value
    left join identifiers as by_email
        on
            by_email.identifier_type = 'email'
            and orders.email = by_email.identifier_value
            and not orders.is_placeholder_email
    left join identifiers as by_phone
        on
            by_phone.identifier_type = 'phone'
            and orders.phone = by_phone.identifier_value
            and not orders.is_placeholder_phone

),

store_purchases as (

    select
        transactions.transaction_id as purchase_id,
        'store' as purchase_channel,
        coalesce(by_loyalty_id.customer_key, by_email.customer_key, by_phone.customer_key) as customer_key,
        case
            when by_loyalty_id.customer_key is not null then 'loyalty_id'
            when by_email.customer_key is not null then 'email'
            when by_phone.customer_key is not null then 'phone'
        end as resolved_by,
        'completed' as status,
        transactions.store_id,
        transactions.currency,
        transactions.total_amount,
        transactions.transacted_at as purchased_at

    from transactions
    left join identifiers as by_loyalty_id
        on
            by_loyalty_id.identifier_type = 'loyalty_id'
            and transactions.loyalty_id = by_loyalty_id.identifier_value
    left join identifiers as by_email
        on
            by_email.identifier_type = 'email'
            and transactions.email = by_email.identifier_value
            and not transactions.is_placeholder_email
    left join identifiers as by_phone
        on
            by_phone.identifier_type = 'phone'
            and transactions.phone = by_phone.identifier_value
            and not transactions.is_placeholder_phone

),

purchases as (

    select * from online_purchases
    union all
    select * from store_purchases

),

final as (

    select
        purchase_id,
        purchase_channel,
        customer_key,
        resolved_by,
        status,
        store_id,
        currency,
        total_amount,
        purchased_at > {{ segue.segue_now() }} as is_after_as_of,
        status = 'completed' and purchased_at <= {{ segue.segue_now() }} as is_counted,
        purchased_at

    from purchases

)

select * from final
