"""Sync engine and one package per destination vendor (filled by later issues)."""
