"""Alembic migrations of Vigil's database (run with ``vigil db upgrade -c FILE``)."""
