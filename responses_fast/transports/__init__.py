"""Transports: all network I/O of the client lives here."""
