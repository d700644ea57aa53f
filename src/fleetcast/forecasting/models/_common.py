"""What the models' code shares: the float array type and parameter validation helpers."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class _Problems:
    """Collects every problem with a parameter set, then raises them together."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.messages: list[str] = []

    def check(self, ok: bool, message: str) -> None:
        """Record ``message`` unless ``ok``."""
        if not ok:
            self.messages.append(message)

    def integer(self, name: str, value: object, low: int, high: int | None = None) -> None:
        """``value`` must be an int (not a bool) in ``low..high``."""
        top = "" if high is None else f"..{high}"
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and value >= low and (high is None or value <= high)  # type: ignore[operator]
        self.check(ok, f"{name}={value!r} not understood: use an integer in {low}{top}")

    def number(
        self, name: str, value: object, low: float, high: float, *, open_low: bool = False
    ) -> None:
        """``value`` must be a finite real number in ``low..high`` (``low`` excluded if open)."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            v = float(value)  # type: ignore[arg-type]
            ok = math.isfinite(v) and (v > low if open_low else v >= low) and v <= high
        side = "(" if open_low else "["
        self.check(ok, f"{name}={value!r} not understood: use a number in {side}{low}, {high}]")

    def raise_if_any(self) -> None:
        """Raise ValueError listing every recorded problem."""
        if self.messages:
            raise ValueError(f"{self.model} parameters: " + "; ".join(self.messages))


def _int_tuple(value: object) -> tuple[int, ...] | object:
    """A list or tuple of ints as a tuple (TOML gives lists); anything else unchanged."""
    if isinstance(value, list | tuple):
        return tuple(value)
    return value


def _positive_ints(problems: _Problems, name: str, value: object, high: int) -> None:
    """``value`` must be a tuple of distinct ints in ``1..high``."""
    ok = (
        isinstance(value, tuple)
        and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= high for v in value)
        and len(set(value)) == len(value)
    )
    problems.check(ok, f"{name}={value!r} not understood: use distinct integers in 1..{high}")
