"""Catalogs: service items, code tables and field maps, kept as data, and their loader."""
