{{ segue.identity_tier_links(2) }}
