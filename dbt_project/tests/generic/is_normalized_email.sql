{#- Every non-null value is a normalized email: trimmed, lower-cased, and
    shaped like local@domain.tld (staging's normalize_email). -#}
{% test is_normalized_email(model, column_name) %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and (
        {{ column_name }} <> lower(trim({{ column_name }}))
        or not {{ segue.is_valid_email(column_name) }}
    )

{% endtest %}
