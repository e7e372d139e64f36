"""Alembic migrations of kumo's database; run them with ``kumo-manage db sync``."""
