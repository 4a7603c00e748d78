"""Repositories: one module per aggregate, plain functions of a connection (SQLAlchemy Core)."""
