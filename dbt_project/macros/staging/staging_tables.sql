{#- The raw tables staging reads, as (source system, raw table, base model,
    stg model): stg_quarantined_rows and stg_duplicate_counts loop over it. -#}
{% macro staging_tables() -%}
    {{ return([
        ('shop', 'customers', 'base_shop__customers', 'stg_shop__customers'),
        ('shop', 'orders', 'base_shop__orders', 'stg_shop__orders'),
        ('shop', 'order_lines', 'base_shop__order_lines', 'stg_shop__order_lines'),
        ('loyalty', 'loyalty_members', 'base_loyalty__members', 'stg_loyalty__members'),
        ('segment', 'identifies', 'base_segment__identifies', 'stg_segment__identifies'),
        ('segment', 'events', 'base_segment__events', 'stg_segment__events'),
        ('pos', 'pos_transactions', 'base_pos__transactions', 'stg_pos__transactions'),
        ('pos', 'pos_lines', 'base_pos__lines', 'stg_pos__lines'),
        ('catalog', 'products', 'base_catalog__products', 'stg_catalog__products'),
        ('catalog', 'inventory', 'base_catalog__inventory', 'stg_catalog__inventory'),
        ('catalog', 'stores', 'base_catalog__stores', 'stg_catalog__stores'),
        ('consent', 'consents', 'base_consent__consents', 'stg_consent__consents'),
        ('esp', 'message_events', 'base_esp__message_events', 'stg_esp__message_events'),
    ]) }}
{%- endmacro %}
