{#- Every non-null value is zero or more. -#}
{% test is_not_negative(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
