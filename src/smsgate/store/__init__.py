"""Storage: SQLAlchemy Core schema, repositories, migrations, and the group-commit writer."""
