{{ segue.identity_tier_labels(3) }}
