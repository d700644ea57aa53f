"""Price per day of a shared car from its features: data checks, the model, its explanations."""

from fleetcast.pricing.data import (
    CATEGORICAL,
    FEATURES,
    NUMERIC,
    OPTIONS,
    TARGET,
    PricingData,
    PricingLimits,
    check_pricing,
    load_pricing_csv,
)

__all__ = [
    "CATEGORICAL",
    "FEATURES",
    "NUMERIC",
    "OPTIONS",
    "TARGET",
    "PricingData",
    "PricingLimits",
    "check_pricing",
    "load_pricing_csv",
]
