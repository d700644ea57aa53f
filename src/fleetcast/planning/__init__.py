"""Planning: what each zone should hold, which vehicles move, the truck routes and field tasks.

Plain functions over Polars frames and dataclasses, with no I/O (the store is read and written
by ``fleetcast.jobs.plan``), so a planner can be called on a frame in a notebook:

- ``targets``: vehicles per zone from the newsvendor quantile of forecast demand;
- ``moves``: surplus to deficit at least travel cost (a transportation problem);
- ``matrix``: travel distances and durations between zones and depots;
- ``routing``: truck routes that carry the moves (pickup-and-delivery, solved by PyVRP);
- ``one_commodity``: unpaired pickup-and-delivery routing (the bike-rebalancing benchmark);
- ``tasks`` and ``assign``: field tasks from the fleet state, scored and given to workers;
- ``parkings``: new parking spots from clusters of trip ends far from existing ones;
- ``replay``: a day's trips replayed against a fleet to count the rides a plan gains.
"""
