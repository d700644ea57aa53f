"""Dashboard pages, one module per page, registered in ``fleetcast.dashboard.app.PAGES``.

Not named ``pages/``: Streamlit treats a ``pages/`` folder beside the entry script as a legacy
multipage app and, on a fresh server, runs a deep-linked page (``/models``) without ``app.py``.
"""
