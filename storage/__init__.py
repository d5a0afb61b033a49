"""Storage stage: database (SQLAlchemy + Alembic), transactional outbox, publisher, media store."""
