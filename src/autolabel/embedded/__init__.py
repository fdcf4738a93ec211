"""Embedded adapters: a workspace folder, SQLite records and SQLite queues. The default world."""
