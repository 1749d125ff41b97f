"""Alembic migrations of the judgements database, run programmatically by :mod:`retrieval.judgements.store`."""
