"""Egress adapters: the channels messages leave smsgate through."""
