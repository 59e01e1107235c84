"""Local caches: per-item bytes, rendered prefixes, token counts, and the context budget.

Importing this package loads no tokenizer: encodings are resolved and loaded on first count.
See docs/caching.md.
"""

from responses_fast.cache.budget import (
    BudgetPolicy,
    ContextBudget,
    TrimPlan,
    TrimReport,
    TrimResult,
    UsageSample,
    apply_plan,
)
from responses_fast.cache.prefix import (
    RenderedPrefix,
    assemble_full_body,
    assemble_incremental_body,
    session_cache_key,
)
from responses_fast.cache.render import LoggedItem, log_item, log_items, truncate_output
from responses_fast.cache.tokens import (
    TokenCounter,
    TokenCounterStatistics,
    context_window,
    encoding_available_offline,
    encoding_for_model,
)

__all__ = [
    "BudgetPolicy",
    "ContextBudget",
    "LoggedItem",
    "RenderedPrefix",
    "TokenCounter",
    "TokenCounterStatistics",
    "TrimPlan",
    "TrimReport",
    "TrimResult",
    "UsageSample",
    "apply_plan",
    "assemble_full_body",
    "assemble_incremental_body",
    "context_window",
    "encoding_available_offline",
    "encoding_for_model",
    "log_item",
    "log_items",
    "session_cache_key",
    "truncate_output",
]
