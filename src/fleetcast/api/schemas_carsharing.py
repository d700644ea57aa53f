"""Response model of the car-sharing delay-policy endpoint: what a minimum delay between two
rentals blocks and solves at one threshold and scope, beside the recommended thresholds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PolicyPointOut(BaseModel):
    """What a minimum delay of ``threshold_min`` in ``scope`` would have done."""

    scope: str = Field(description="all, connect or mobile (the previous rental's check-in)")
    threshold_min: int = Field(description="Minimum minutes between two rentals of a car")
    blocked_rentals: int = Field(description="Rentals whose gap to the previous one is below it")
    blocked_share: float = Field(description="Blocked rentals over every rental")
    blocked_share_of_scope: float = Field(description="Blocked rentals over the scope's rentals")
    blocked_ended: int = Field(description="Blocked rentals that ended (brought revenue)")
    revenue_share: float = Field(description="Revenue blocked: one day per ended rental")
    revenue_blocked: float | None = Field(description="EUR, when a price per day is known")
    problem_cases: int = Field(description="Rentals of the scope hit by a late check-out")
    solved_cases: int = Field(description="Problematic cases the threshold blocks")
    solved_share: float = Field(description="Solved over every problematic case")
    solved_share_of_scope: float = Field(description="Solved over the scope's problematic cases")
    solved_cancellations: int = Field(description="Solved cases that had been canceled")


class RecommendationOut(PolicyPointOut):
    """The threshold the trade-off picks, with its figures, its rule and why."""

    rule: str
    target_met: bool
    why: str


class DelayPolicyOut(BaseModel):
    """The figures at the asked threshold and scope, the scope's recommended threshold, the
    best threshold and scope overall, and (with ``curve=true``) the scope's whole curve."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "system": "getaround",
                    "scope": "connect",
                    "threshold_min": 60,
                    "rentals": 21309,
                    "problem_cases": 218,
                    "price_per_day": None,
                    "figures": {
                        "scope": "connect",
                        "threshold_min": 60,
                        "blocked_rentals": 178,
                        "blocked_share": 0.0084,
                        "blocked_share_of_scope": 0.0413,
                        "blocked_ended": 154,
                        "revenue_share": 0.0085,
                        "revenue_blocked": None,
                        "problem_cases": 69,
                        "solved_cases": 48,
                        "solved_share": 0.2202,
                        "solved_share_of_scope": 0.6957,
                        "solved_cancellations": 10,
                    },
                }
            ]
        }
    )

    system: str
    scope: str
    threshold_min: int
    rentals: int = Field(description="Rentals of the system in the store")
    problem_cases: int = Field(description="Problematic cases of the system, every scope")
    price_per_day: float | None
    figures: PolicyPointOut
    recommendation: RecommendationOut = Field(description="The asked scope's own recommendation")
    best: RecommendationOut = Field(description="The best threshold and scope across scopes")
    curve: list[PolicyPointOut] | None = Field(
        default=None, description="Every studied threshold of the scope (with curve=true)"
    )
