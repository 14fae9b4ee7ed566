{#- Raw text as staging wants it: cast to text (a column may land with
    another type), trimmed, and empty becomes null. -#}
{% macro clean_text(expression) -%}
    {{ return(adapter.dispatch('clean_text', 'segue')(expression)) }}
{%- endmacro %}

{% macro default__clean_text(expression) -%}
    nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- DuckDB: the same value. Its trim() copies every string longer than 12
    bytes even when nothing is trimmed (about 3x the cost of this check on
    36-character ids, bench/results.md), so only a value that starts or ends
    with a character trim() strips (Unicode category Zs: U+0020, U+00A0,
    U+1680, U+2000-U+200A, U+202F, U+205F, U+3000) is trimmed; any other is
    already trimmed. Comparisons, not IN lists: DuckDB turns a long IN list
    into a join. -#}
{% macro duckdb__clean_text(expression) -%}
    {%- set text = 'cast(' ~ expression ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    (case
        when {{ segue.is_zs_code('ascii(' ~ text ~ ')') }} or {{ segue.is_zs_code('ascii((' ~ text ~ ')[-1])') }}
            then nullif(trim({{ text }}), '')
        else nullif({{ text }}, '')
    end)
{%- endmacro %}

{#- Whether a code point (an integer expression) is in Unicode category Zs. -#}
{% macro is_zs_code(code) -%}
    ({{ code }} = 32 or ({{ code }} >= 160 and (
        {{ code }} = 160 or {{ code }} = 5760 or {{ code }} between 8192 and 8202
        or {{ code }} = 8239 or {{ code }} = 8287 or {{ code }} = 12288
    )))
{%- endmacro %}

{#- clean_text, lower-cased: anonymous ids, tiers, statuses, channels. -#}
{% macro clean_lower(expression) -%}
    lower({{ segue.clean_text(expression) }})
{%- endmacro %}

{#- A typed value that is null instead of an error when the raw value does not
    parse (see macros/cross_db/safe_cast.sql). A cast to the type the value
    already has costs nothing (the warehouse drops it). -#}
{% macro typed(expression, type) -%}
    {{ dbt.safe_cast(expression, type) }}
{%- endmacro %}

{#-
    Raw columns that landed typed (CONTRACT §2: timestamps, numbers and
    booleans usually do) need no text round trip to tell an absent value from
    a present one: the text of a number, timestamp or boolean is never blank
    and has nothing to trim. A loader may still land any of them as text, so
    base models look the types up when dbt runs:

        {%- set raw_types = segue.raw_column_types(source('segment', 'events')) %}
        ...
        {{ segue.raw_value('timestamp', raw_types) }} as occurred_at_raw,
        {{ segue.typed(adapter.quote('timestamp'), dbt.type_timestamp()) }} as occurred_at,

    raw_value is the column itself when it landed typed, else clean_text of
    it: null exactly when the raw value is absent or blank, either way. Where
    its text is needed (a record_id), cast it to text: the same text
    clean_text gives.
-#}

{#- {lower-cased column name: true when it landed typed} for `relation`, read
    from the warehouse when dbt executes. Empty while dbt parses, and when the
    relation cannot be inspected (a unit test's fixture): every column then
    takes the text path, which is right for any type. -#}
{% macro raw_column_types(relation) -%}
    {%- set typed_columns = {} -%}
    {%- if execute and relation is not string and relation.identifier is defined -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- do typed_columns.update({column.name | lower: segue.is_typed_data_type(column.data_type)}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(typed_columns) }}
{%- endmacro %}

{#- Whether a data type's values, written as text, are never blank nor padded:
    numbers, booleans, dates and timestamps, in the spellings of DuckDB,
    PostgreSQL and Spark. Any other type (text, unknown) is not. -#}
{% macro is_typed_data_type(data_type) -%}
    {%- set pattern = '^(tinyint|smallint|integer|int|bigint|hugeint|utinyint|usmallint|uinteger|ubigint|uhugeint'
        ~ '|int2|int4|int8|decimal|numeric|double|float|float4|float8|real|boolean|bool'
        ~ '|timestamp|timestamptz|date)([^a-z]|$)' -%}
    {{ return(modules.re.match(pattern, (data_type or '') | string | lower | trim) is not none) }}
{%- endmacro %}

{#- The raw value of column `name` (unquoted), null when absent or blank: the
    column itself when it landed typed (raw_column_types), else its
    clean_text. -#}
{% macro raw_value(name, raw_types) -%}
    {%- if raw_types.get(name | lower, false) -%}
        {{ adapter.quote(name) }}
    {%- else -%}
        {{ segue.clean_text(adapter.quote(name)) }}
    {%- endif -%}
{%- endmacro %}

{#- `name=value; name=value` for the listed raw columns, 'null' for nulls: the
    record_text column of stg_quarantined_rows. With `carried`, each column
    is read from where raw_row carried it past a join. -#}
{% macro record_text(columns, carried=false) -%}
    {%- set prefix = segue.raw_row_prefix() if carried else '' -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'; '") -%}{%- endif -%}
        {%- do parts.append("'" ~ column ~ "='") -%}
        {%- do parts.append("coalesce(cast(" ~ adapter.quote(prefix ~ column) ~ " as " ~ dbt.type_string() ~ "), 'null')") -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- The listed raw columns under new names (raw_row_prefix), for a
    record_text(columns, carried=true) built later in the model. A base model
    that joins (a seed) after cleaning builds record_text after its
    quarantine filter this way: built before the join, DuckDB computes it for
    every row, not only for the quarantined ones (bench/results.md). -#}
{% macro raw_row(columns) -%}
    {%- for column in columns %}
        {{ adapter.quote(column) }} as {{ adapter.quote(segue.raw_row_prefix() ~ column) }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The names raw_row gives the columns it carries: raw__<name>. -#}
{% macro raw_row_prefix() -%}
    {{ return('raw__') }}
{%- endmacro %}
