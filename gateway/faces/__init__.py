"""Faces: decode a caller's request into an Exchange and encode the reply (REST now, SOAP later)."""
