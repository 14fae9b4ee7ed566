{#-
    Emails (CONTRACT §2): trimmed and lower-cased. A value that is not
    shaped like local@domain.tld (one @, no spaces, a dot inside the domain)
    is not an email: normalize_email returns null and the model sets
    is_email_invalid.
-#}

{#- Trimmed, lower-cased, empty as null: the value placeholders are matched on. -#}
{% macro clean_email(expression) -%}
    {{ segue.clean_lower(expression) }}
{%- endmacro %}

{% macro is_valid_email(clean_email) -%}
    {{ segue.regexp_like(clean_email, '^[^@ ]+@[^@ .]+([.][^@ .]+)+$') }}
{%- endmacro %}

{#- Takes an already clean_email'ed expression. -#}
{% macro normalize_email(clean_email) -%}
    case when {{ segue.is_valid_email(clean_email) }} then {{ clean_email }} end
{%- endmacro %}

{#-
    Pattern rules for placeholder emails (the exact values are the seed
    blocked_identifier_values): the part before the @ is one of the dbt var
    placeholder_email_local_parts, or the part after it one of
    placeholder_email_domains. Never null: false when nothing matches.
-#}
{% macro is_placeholder_email_pattern(clean_email) -%}
    {%- set local_parts = var('placeholder_email_local_parts', []) -%}
    {%- set domains = var('placeholder_email_domains', []) -%}
    {%- if not local_parts and not domains -%}
        false
    {%- else -%}
    coalesce(
        {%- if local_parts %}
        {{ dbt.split_part(clean_email, "'@'", 1) }} in ({{ segue.sql_string_list(local_parts) }})
        {%- endif %}
        {%- if local_parts and domains %} or {% endif %}
        {%- if domains %}
        {{ dbt.split_part(clean_email, "'@'", 2) }} in ({{ segue.sql_string_list(domains) }})
        {%- endif %},
        false
    )
    {%- endif -%}
{%- endmacro %}

{#- 'a', 'b', 'c' from a list, quotes escaped, lower-cased. -#}
{% macro sql_string_list(values) -%}
    {%- for value in values -%}
        '{{ (value | string | lower) | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
