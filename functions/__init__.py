"""Thin handlers, one module per concern: parse and validate, check the caller, call domain code, respond."""
