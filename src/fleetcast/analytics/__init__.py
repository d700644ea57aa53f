"""Analytics: Polars transforms over the store (demand, KPIs, availability, delay policy)."""
