{{ config(schema='marts', materialized='table') }}

{#-
    CONTRACT §3: one row per normalized identifier with the customer it
    resolved to. Blocked values (placeholders, blocked ids) are not here:
    they belong to no customer and are listed in identity_rule_hits.
    Downstream models join staging rows on (identifier_type,
    identifier_value); staging already normalizes every value the same way
    (anonymous_id lower-cased, emails lower-cased, phones E.164).
-#}

with

components as (

    select * from {{ ref('int_identity__components') }}

),

final as (

    select
        identifier_type,
        identifier_value,
        customer_key,
        first_seen_at,
        last_seen_at,
        is_shared,
        observation_count,
        component_size as customer_identifier_count,
        key_node_id = node_id as is_key_identifier

    from components

)

select * from final
