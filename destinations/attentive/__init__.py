"""Attentive (SMS marketing) as a Segue destination."""
