"""Importers: map a real retailer's exports onto the raw contract (CONTRACT.md section 2)."""
