"""Adapters: the only code that knows a partner city's wire format (one sub-package per city)."""
