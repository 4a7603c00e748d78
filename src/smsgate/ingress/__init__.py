"""Ingress adapters: parse a wire format, authenticate, format replies; no business rules."""
