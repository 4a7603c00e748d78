"""Use cases: the only layer that debits balances or changes message state."""
