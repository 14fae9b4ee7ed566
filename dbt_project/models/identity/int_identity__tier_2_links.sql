{{ segue.identity_resolution_config() }}
{{ segue.identity_tier_links(2) }}
