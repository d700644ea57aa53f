"""How jobs report progress without knowing who listens (the CLI draws Rich bars)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives the stages of a long job and, where known, how far each has come."""

    def stage(self, description: str, total: float | None = None) -> None:
        """A new stage begins (``total`` units of work, if known)."""

    def advance(self, amount: float = 1.0) -> None:
        """Some units of the current stage are done."""


class Silent:
    """Progress that goes nowhere (tests, notebooks, scheduled flows)."""

    def stage(self, description: str, total: float | None = None) -> None:
        """Ignore the stage."""

    def advance(self, amount: float = 1.0) -> None:
        """Ignore the advance."""
