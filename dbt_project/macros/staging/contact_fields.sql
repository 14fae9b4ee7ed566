{#-
    The contact fields every base model with an email and a phone derives, as
    two CTEs to place after the caller's own CTEs:

      normalized  every column of `relation`, plus email (normalize_email),
                  phone (normalize_phone, a phone written without + read in
                  the row's `country`, else dbt var default_phone_country)
                  and phone_calling_code (that country's calling code)
      flagged     normalized's columns plus is_email_invalid,
                  is_phone_invalid, is_placeholder_email and
                  is_placeholder_phone (pattern rules and the seed
                  blocked_identifier_values)

    relation  the CTE holding email_text (clean_email), phone_text
              (clean_text) and phone_digits (phone_digits) columns
    country   the column of `relation` holding the row's country (ISO alpha-2,
              may be null)

    Usage, inside a model's `with`:

        {{ segue.contact_fields('with_store', 'store_country') }},

        validated as (select ... from flagged)
-#}
{% macro contact_fields(relation, country) -%}
contact_calling_codes as (

    select * from {{ ref('country_calling_codes') }}

),

contact_blocked_values as (

    select distinct
        identifier_type,
        identifier_value
    from {{ segue.blocked_identifier_values() }} as blocked_seed

),

normalized as (

    select
        {{ relation }}.*,
        {{ segue.normalize_email(relation ~ '.email_text') }} as email,
        {{ segue.normalize_phone(
            relation ~ '.phone_text', 'codes', digits=relation ~ '.phone_digits'
        ) }} as phone,
        codes.calling_code as phone_calling_code

    from {{ relation }}
    left join contact_calling_codes as codes
        on coalesce({{ relation }}.{{ country }}, {{ segue.default_phone_country() }}) = codes.country

),

flagged as (

    select
        normalized.*,
        normalized.email_text is not null and normalized.email is null as is_email_invalid,
        normalized.phone_text is not null and normalized.phone is null as is_phone_invalid,
        {{ segue.is_placeholder_email_pattern('normalized.email_text') }}
        or blocked_email.identifier_value is not null as is_placeholder_email,
        {{ segue.is_placeholder_phone_pattern(
            'normalized.phone_digits', 'normalized.phone', 'normalized.phone_calling_code'
        ) }}
        or blocked_phone.identifier_value is not null as is_placeholder_phone

    from normalized
    left join contact_blocked_values as blocked_email
        on
            blocked_email.identifier_type = 'email'
            and normalized.email_text = blocked_email.identifier_value
    left join contact_blocked_values as blocked_phone
        on
            blocked_phone.identifier_type = 'phone'
            and {{ segue.phone_lookup_key('normalized.phone_text', digits='normalized.phone_digits') }}
            = blocked_phone.identifier_value

)
{%- endmacro %}
