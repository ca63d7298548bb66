"""Use cases: each takes the caller and plain values, applies the domain rules and uses the repositories."""
