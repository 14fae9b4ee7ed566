{#-
    Every completed purchase, online or in store, with the customer it belongs
    to: completed orders (stg_shop__orders) and POS transactions, resolved to a
    customer_key through marts.customer_identifiers (online: customer_id, then
    email, then phone; in store: loyalty_id, then receipt email, then phone;
    placeholders never resolve). Purchases nobody can be named for are kept
    with a null customer_key. Only purchases up to "now" count.
-#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

transactions as (

    select * from {{ ref('stg_pos__transactions') }}

),

identifiers as (

    select * from {{ ref('customer_identifiers') }}

),

purchases as (

    select
        order_id as purchase_id,
        'online' as purchase_channel,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        case when not is_placeholder_email then email end as email,
        case when not is_placeholder_phone then phone end as phone,
        total_amount,
        ordered_at as purchased_at

    from orders
    where status = 'completed'

    union all

    select
        transaction_id as purchase_id,
        'store' as purchase_channel,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        loyalty_id,
        case when not is_placeholder_email then email end as email,
        case when not is_placeholder_phone then phone end as phone,
        total_amount,
        transacted_at as purchased_at

    from transactions

),

resolved as (

    select
        purchases.purchase_id,
        purchases.purchase_channel,
        coalesce(
            by_customer_id.customer_key,
            by_loyalty_id.customer_key,
            by_email.customer_key,
            by_phone.customer_key
        ) as customer_key,
        purchases.total_amount,
        purchases.purchased_at

    from purchases
    left join identifiers as by_customer_id
        on
            by_customer_id.identifier_type = 'customer_id'
            and purchases.customer_id = by_customer_id.identifier_value
    left join identifiers as by_loyalty_id
        on
            by_loyalty_id.identifier_type = 'loyalty_id'
            and purchases.loyalty_id = by_loyalty_id.identifier_value
    left join identifiers as by_email
        on
            by_email.identifier_type = 'email'
            and purchases.email = by_email.identifier_value
    left join identifiers as by_phone
        on
            by_phone.identifier_type = 'phone'
            and purchases.phone = by_phone.identifier_value

),

final as (

    select * from resolved
    where purchased_at <= {{ segue.segue_now() }}

)

select * from final
