"""The operations dashboard: one Streamlit multipage app over the jobs (``fleetcast dashboard``).

``app.py`` is the entry script and holds the page registry; each page is a module in
``app_pages/``; ``state.py`` opens the store and caches the reads; ``launch.py`` starts the
server.
"""
