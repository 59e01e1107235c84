"""responses_fast: fast, trustworthy LLM agent loops."""

__version__ = "0.1.0"
