"""Persistence: the only package that opens database sessions (SQLite or PostgreSQL)."""
