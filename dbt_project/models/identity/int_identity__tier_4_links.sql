{{ segue.identity_tier_links(4) }}
