{{ config(materialized='view') }}

{#- The view's SQL is the macro base_segment__events (macros/staging/base/), which an
    incremental run of the staging table also reads: see there. -#}
{{ segue.base_segment__events(source('segment', 'events')) }}
