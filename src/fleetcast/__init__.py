"""fleetcast: put every shared vehicle where the next rider will look for it."""

__version__ = "0.1.0"
