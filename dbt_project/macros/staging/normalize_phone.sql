{#-
    Phones to E.164 (CONTRACT §2): '+', the calling code, the national
    significant number; 8 to 15 digits, the first not 0.

    phone   the raw value (any expression; clean_text is applied here)
    codes   alias of the row of seed country_calling_codes for the row's
            country (left-joined by the caller: null when the country is
            unknown). Its columns: calling_code, trunk_prefix,
            international_prefix, min_nsn_length, max_nsn_length.
    digits  optional: a column already holding phone_digits(phone). Models
            pass it so the SQL computes the digits once.

    Rules, first match wins, on the digits left after removing a written
    "(0)" and every non-digit:
      1. written with a leading +           -> + and the digits, as is
      2. starts with the country's own international prefix (011 in
         US/CA, 0011 in AU, 010 in JP, ...) -> + and what follows it
      3. starts with 00                     -> + and what follows it
      4. no country for the row             -> null (a national number
                                               cannot be read)
      5. trunk prefix + a national number of the country's length
                                            -> + calling code, trunk dropped
      6. a national number of the country's length
                                            -> + calling code + digits
      7. the calling code + a national number of the country's length
                                            -> + and the digits
      8. anything else                      -> null
    and the result must look like E.164, else null (is_phone_invalid).
-#}
{% macro normalize_phone(phone, codes, digits=none) -%}
    {%- set text = segue.clean_text(phone) -%}
    {%- set digits = digits or segue.phone_digits(phone) -%}
    {%- set nsn_length_ok -%}
        between {{ codes }}.min_nsn_length and {{ codes }}.max_nsn_length
    {%- endset -%}
    {#- Each rule's result is checked for the E.164 shape where it is made,
        so the rules are written (and computed) once. -#}
    case
        when {{ text }} is null then null
        when substr({{ text }}, 1, 1) = '+'
            then {{ segue.e164_or_null(dbt.concat(["'+'", digits])) }}
        when {{ codes }}.international_prefix is not null
            and {{ segue.starts_with(digits, codes ~ '.international_prefix') }}
            then {{ segue.e164_or_null(dbt.concat([
                "'+'", "substr(" ~ digits ~ ", length(" ~ codes ~ ".international_prefix) + 1)"
            ])) }}
        when substr({{ digits }}, 1, 2) = '00'
            then {{ segue.e164_or_null(dbt.concat(["'+'", "substr(" ~ digits ~ ", 3)"])) }}
        when {{ codes }}.calling_code is null then null
        when {{ codes }}.trunk_prefix is not null
            and {{ segue.starts_with(digits, codes ~ '.trunk_prefix') }}
            and length({{ digits }}) - length({{ codes }}.trunk_prefix) {{ nsn_length_ok }}
            then {{ segue.e164_or_null(dbt.concat([
                "'+'", codes ~ ".calling_code", "substr(" ~ digits ~ ", length(" ~ codes ~ ".trunk_prefix) + 1)"
            ])) }}
        when length({{ digits }}) {{ nsn_length_ok }}
            then {{ segue.e164_or_null(dbt.concat(["'+'", codes ~ ".calling_code", digits])) }}
        when {{ segue.starts_with(digits, codes ~ '.calling_code') }}
            and length({{ digits }}) - length({{ codes }}.calling_code) {{ nsn_length_ok }}
            then {{ segue.e164_or_null(dbt.concat(["'+'", digits])) }}
    end
{%- endmacro %}

{#- The digits of a phone, a written "(0)" removed first ("+44 (0)20 ..."). -#}
{% macro phone_digits(phone) -%}
    {{ segue.regexp_replace("replace(" ~ segue.clean_text(phone) ~ ", '(0)', '')", '[^0-9]', '') }}
{%- endmacro %}

{% macro starts_with(expression, prefix) -%}
    substr({{ expression }}, 1, length({{ prefix }})) = {{ prefix }}
{%- endmacro %}

{#- The expression when it is E.164 ('+', 8-15 digits, first not 0), else null. -#}
{% macro e164_or_null(expression) -%}
    case when {{ segue.is_e164(expression) }} then {{ expression }} end
{%- endmacro %}

{% macro is_e164(expression) -%}
    {{ segue.regexp_like(expression, '^[+][1-9][0-9]{7,14}$') }}
{%- endmacro %}

{#-
    Pattern rule for placeholder phones (the exact values are the seed
    blocked_identifier_values): the raw digits are one digit repeated
    (0000000000), or the national number is (+44 7777 777777). The national
    number is what follows the row country's calling code when the E.164
    number carries it, else what follows a 1-, 2- or 3-digit calling code.
    digits is phone_digits(phone), e164 the normalized phone, calling_code
    the row country's (may be null).
    RE2 has no backreferences, so "all one digit" is: removing every copy of
    the first digit leaves nothing. Never null.
-#}
{% macro is_placeholder_phone_pattern(digits, e164, calling_code) -%}
    {%- set national_after_row_code = "substr(" ~ e164 ~ ", length(" ~ calling_code ~ ") + 2)" -%}
    coalesce(
        (length({{ digits }}) >= 6 and {{ segue.is_one_repeated_digit(digits) }})
        or case
            when {{ segue.starts_with(e164, dbt.concat(["'+'", calling_code])) }}
                then {{ segue.is_one_repeated_digit(national_after_row_code) }}
            else
                {%- for calling_code_length in [1, 2, 3] %}
                {{ "or " if not loop.first }}{{ segue.is_one_repeated_digit("substr(" ~ e164 ~ ", " ~ (calling_code_length + 2) ~ ")") }}
                {%- endfor %}
        end,
        false
    )
{%- endmacro %}

{% macro is_one_repeated_digit(digits) -%}
    replace({{ digits }}, substr({{ digits }}, 1, 1), '') = ''
{%- endmacro %}

{#- What a phone is looked up by in seed blocked_identifier_values: its
    digits, or, when it has none ('unknown', 'n/a'), its lower-cased text. -#}
{% macro phone_lookup_key(phone, digits=none) -%}
    coalesce(nullif({{ digits or segue.phone_digits(phone) }}, ''), {{ segue.clean_lower(phone) }})
{%- endmacro %}

{#- The country (an SQL expression) whose numbering plan reads a phone written
    without + when its row has no country of its own: dbt var
    default_phone_country, or null. -#}
{% macro default_phone_country() -%}
    {%- set country = var('default_phone_country', '') | string | trim | upper -%}
    {%- if country -%}
        '{{ country }}'
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}
