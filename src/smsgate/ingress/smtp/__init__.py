"""SMTP ingress: e-mail to SMS (protocols.md §2)."""
