"""A turn whose conversation cannot be read or saved fails, instead of going on as if
nothing had happened.

Rasa wraps every tracker store in `FailSafeTrackerStore`: a conversation that cannot be
read is taken for a new one, and one that cannot be saved is kept in this process's
memory only, while the answer goes out as usual. When Redis (or the database) goes away
in the middle of a turn, the citizen then reads an answer out of context ("what would
you like to do?" in the middle of a form), or one that the conversation has forgotten
once the store is back. `refuse_silent_fallback(agent)` makes both an error of the turn,
which the channel answers with its polite "try again in a moment"; the same message sent
again is answered in context. Repeating is safe: submissions carry idempotency keys.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import FailSafeTrackerStore


class ConversationStoreUnavailable(Exception):
    """The tracker store failed to read or save this turn's conversation."""


def refuse_silent_fallback(agent: Any) -> None:
    """Makes the agent's store raise ConversationStoreUnavailable where Rasa would fall back."""
    store = getattr(agent, "tracker_store", None)
    if isinstance(store, FailSafeTrackerStore):
        # The wrapper's own hook for errors (by default: log, then fall back to memory).
        store._on_tracker_store_error = _fail_the_turn


def _fail_the_turn(error: Exception) -> None:
    raise ConversationStoreUnavailable(f"the conversation store failed: {type(error).__name__}") from error
