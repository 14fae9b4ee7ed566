{{ config(severity='error') }}

{#-
    Identity explosion: a customer holding more than
    var identity_max_component_size identifiers fails the build instead of
    becoming a giant customer. Each row names the customer and its
    identifiers (the first 20, by type priority); on DuckDB the test's
    error message names them too. Fix the rule that let it happen (usually
    a shared value to block or a lower identity_max_accounts_per_identifier)
    or raise the var if the customer is real.
-#}

with

components as (

    select * from {{ ref('int_identity__components') }}
    where component_size > {{ var('identity_max_component_size') | int }}

),

ranked as (

    select
        customer_key,
        component_size,
        node_id,
        row_number() over (partition by customer_key order by type_rank, node_id) as shown_rank
    from components

),

offending as (

    select
        customer_key,
        max(component_size) as component_size,
        {{ dbt.listagg('node_id', "', '", "order by node_id") }} as identifiers
    from ranked
    where shown_rank <= 20
    group by customer_key

),

messages as (

    select
        *,
        {{ segue.identity_explosion_message('customer_key', 'component_size', 'identifiers') }} as message
    from offending

)

select
    customer_key,
    component_size,
    identifiers,
    message
from messages
where {{ segue.raise_message('message') }}
