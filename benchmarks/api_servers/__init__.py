"""Apps the API benchmark serves beside fleetcast's own: the ceiling and the naive peer."""
