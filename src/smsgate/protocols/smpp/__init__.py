"""SMPP 3.4 codec and session layer."""
