"""Loggers handed to third-party I/O libraries, with credentials scrubbed.

websockets logs every handshake header at DEBUG, ``Authorization`` included, and picows logs the
raw upgrade request (bytes) at its level 9; the logger we pass them redacts credentials (header
arguments, ``Bearer`` tokens and credential header lines, in text or bytes) before any handler
sees the record.
"""

from __future__ import annotations

import logging
import re

__all__ = ["wire_logger"]

_SECRET_HEADER = re.compile(r"(?i)^(authorization|api-key|x-api-key|openai-organization)$")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_HEADER_LINE = re.compile(
    r"(?im)^(authorization|api-key|x-api-key|openai-organization)\s*:[^\r\n]*"
)


def _scrub(value: object) -> object:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    elif not isinstance(value, str):
        return value
    value = _HEADER_LINE.sub(r"\1: [REDACTED]", value)
    return _BEARER.sub(r"\1[REDACTED]", value)


class _RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            if len(args) >= 2 and isinstance(args[0], str) and _SECRET_HEADER.match(args[0]):
                record.args = (args[0], "[REDACTED]", *args[2:])
            else:
                record.args = tuple(_scrub(a) for a in args)
        if isinstance(record.msg, str) and "earer" in record.msg:
            record.msg = _BEARER.sub(r"\1[REDACTED]", record.msg)
        return True


def wire_logger(name: str) -> logging.Logger:
    """A logger for a library's wire-level debug output, with credentials redacted."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _RedactCredentials) for f in logger.filters):
        logger.addFilter(_RedactCredentials())
    return logger
