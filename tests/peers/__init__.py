"""Fakes of outside services that speak the real protocols."""
