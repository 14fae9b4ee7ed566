{#- Every non-null value is an E.164 phone: '+', then 8 to 15 digits, the
    first not 0 (the shape staging's normalize_phone produces). -#}
{% test is_e164(model, column_name) %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and not {{ segue.is_e164(column_name) }}

{% endtest %}
