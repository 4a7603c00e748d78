"""Wire protocols shared by ingresses, channels and the simulator (no business rules)."""
