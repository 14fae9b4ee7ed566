{#-
    Identity-resolution helpers (README.md, "Identity").
-#}

{#- The node id of an identifier: '<type>:<value>'. -#}
{% macro identity_node_id(identifier_type, identifier_value) -%}
    {{ dbt.concat([identifier_type, "':'", identifier_value]) }}
{%- endmacro %}

{#- 1 for the highest-priority type of var identity_type_priority, 2 for the next... -#}
{% macro identity_type_rank(identifier_type) -%}
    case {{ identifier_type }}
    {%- for identifier_type_name in var('identity_type_priority') %}
        when '{{ identifier_type_name }}' then {{ loop.index }}
    {%- endfor %}
    end
{%- endmacro %}

{#- Why the `identifier_type` column of `relation` may not link, or null
    when it may (or is absent): `staging_flag` (the record's staging
    placeholder flag, if the type has one), then the seed
    blocked_identifier_values (joined as blocked_<identifier_type> on type
    and lower-cased value), then the type's pattern rules. -#}
{% macro identity_blocked_reason(relation, identifier_type, staging_flag='false') -%}
    {%- set value = relation ~ '.' ~ identifier_type %}
    case
        when {{ value }} is null then null
        {%- if staging_flag != 'false' %}
        when {{ staging_flag }} then 'placeholder (staging)'
        {%- endif %}
        when blocked_{{ identifier_type }}.identifier_value is not null then 'blocked value (seed blocked_identifier_values)'
        {%- if identifier_type == 'email' %}
        when {{ segue.is_placeholder_email_pattern(value) }}
            then 'placeholder pattern (placeholder_email_local_parts / domains)'
        {%- elif identifier_type == 'phone' %}
        when {{ segue.is_placeholder_phone_pattern('substr(' ~ value ~ ', 2)', value, 'null') }}
            then 'placeholder pattern (one digit repeated)'
        {%- else %}
        when {{ segue.identity_is_blocked_id(value) }}
            then 'blocked pattern (identity_blocked_id_patterns)'
        {%- endif %}
    end
{%- endmacro %}

{#- True when an id value (customer_id, loyalty_id, anonymous_id) matches one
    of var identity_blocked_id_patterns. Never null. -#}
{% macro identity_is_blocked_id(value) -%}
    {%- set patterns = var('identity_blocked_id_patterns', []) -%}
    {%- if not patterns -%}
        false
    {%- else -%}
    coalesce(
        {%- for pattern in patterns %}
        {{ "or " if not loop.first }}{{ segue.regexp_like('lower(' ~ value ~ ')', pattern) }}
        {%- endfor %},
        false
    )
    {%- endif -%}
{%- endmacro %}

{#- The types limited per customer (var identity_max_per_customer), as a list. -#}
{% macro identity_limited_types() -%}
    {{ return(var('identity_max_per_customer', {}).keys() | list) }}
{%- endmacro %}

{#- The identity_component_size test's message, and a filter that raises it.
    On DuckDB the filter calls error(), so dbt's own output (and the Dagster
    asset check) names the identifiers; elsewhere the filter is true and the
    message is a column of the failing rows (dbt test --store-failures keeps
    them). -#}
{% macro identity_explosion_message(customer_key, size, identifiers) -%}
    {{ dbt.concat([
        "'identity explosion: customer '", customer_key, "' holds '",
        "cast(" ~ size ~ " as " ~ dbt.type_string() ~ ")", "' identifiers (limit " ~ var('identity_max_component_size') ~ "): '",
        identifiers
    ]) }}
{%- endmacro %}

{% macro raise_message(message) -%}
    {{ return(adapter.dispatch('raise_message', 'segue')(message)) }}
{%- endmacro %}

{% macro default__raise_message(message) -%}
    {{ message }} is not null
{%- endmacro %}

{% macro duckdb__raise_message(message) -%}
    cast(error({{ message }}) as {{ dbt.type_string() }}) is null
{%- endmacro %}
