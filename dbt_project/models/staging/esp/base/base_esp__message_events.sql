{{ config(materialized='view') }}

{#- The view's SQL is the macro base_esp__message_events (macros/staging/base/), which an
    incremental run of the staging table also reads: see there. -#}
{{ segue.base_esp__message_events(source('esp', 'message_events')) }}
