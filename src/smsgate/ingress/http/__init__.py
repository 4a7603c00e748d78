"""HTTP ingress: the SMSC-compatible API, health and metrics."""
