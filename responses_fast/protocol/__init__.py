"""Pure data and parsing for the Responses and Chat Completions wire vocabularies. No I/O."""
