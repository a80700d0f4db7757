"""Trace records (sans-IO) and the exporters that render them."""
