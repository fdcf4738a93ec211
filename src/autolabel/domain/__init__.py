"""Pure domain rules: models, thresholds, partitioning, review decisions. No I/O here."""
