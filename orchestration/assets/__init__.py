"""Dagster asset definitions: dbt models (and, in later issues, syncs)."""
