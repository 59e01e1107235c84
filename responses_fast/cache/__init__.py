"""Local caches: per-item bytes, rendered prefixes, token counts, and the context budget."""
