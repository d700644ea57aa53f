"""Entry script of the operations dashboard: page registry, navigation and the system picker.

Run it with ``fleetcast dashboard`` (or ``streamlit run`` on this file with FLEETCAST_HOME set).

To add a page: write a module in ``dashboard/app_pages/`` that reads through
``dashboard.state`` (never the store directly) and calls ``state.require_system()`` first, then
append one :class:`PageSpec` to :data:`PAGES`. Sections group the sidebar; later pages (live supply,
rebalancing plan, field worker, car sharing, monitoring) take new sections here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.navigation.page import StreamlitPage

from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import state
from fleetcast.errors import FleetcastError

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page of the app: its module under ``app_pages/``, sidebar title, URL and section."""

    module: str
    title: str
    url_path: str
    icon: str
    section: str

    @property
    def path(self) -> Path:
        """The page's script file."""
        return HERE / "app_pages" / f"{self.module}.py"


PAGES: list[PageSpec] = [
    PageSpec("overview", "Overview", "overview", ":material/dashboard:", "Demand"),
    PageSpec("demand_map", "Demand map", "demand-map", ":material/map:", "Demand"),
    PageSpec(
        "forecast_explorer",
        "Forecast explorer",
        "forecast-explorer",
        ":material/show_chart:",
        "Demand",
    ),
    PageSpec("models", "Models", "models", ":material/model_training:", "Forecasting"),
    PageSpec(
        "live_supply", "Live supply", "live-supply", ":material/electric_scooter:", "Operations"
    ),
    PageSpec("plan", "Rebalancing plan", "plan", ":material/local_shipping:", "Operations"),
    PageSpec("field", "Field tasks", "field", ":material/assignment_turned_in:", "Operations"),
    PageSpec(
        "carsharing", "Car sharing", "car-sharing", ":material/directions_car:", "Car sharing"
    ),
    PageSpec("monitoring", "Monitoring", "monitoring", ":material/monitor_heart:", "Forecasting"),
]
# Every page in sidebar order; the first is the home page. (A comment, not a docstring:
# Streamlit's magic would print a bare string of this script on the page.)


def navigation() -> StreamlitPage:
    """The sidebar navigation built from :data:`PAGES`, grouped by section; the chosen page."""
    sections: dict[str, list[StreamlitPage]] = {}
    for i, spec in enumerate(PAGES):
        page = st.Page(
            spec.path,
            title=spec.title,
            icon=spec.icon,
            url_path=spec.url_path,
            default=i == 0,
        )
        sections.setdefault(spec.section, []).append(page)
    return st.navigation(sections)


def system_picker() -> None:
    """The sidebar's system selector (its choice lives in ``st.session_state``) and freshness."""
    key = state.store_key()
    try:
        found = state.systems(key)
    except (SQLAlchemyError, FleetcastError, OSError) as exc:
        state.stop_with(f"Cannot read the store at `{key[0]}`: {exc}")
    if not found:
        st.session_state.pop(state.SYSTEM_KEY, None)
        st.sidebar.caption("No system in the store yet.")
        return
    names = {s.system_id: s.name for s in found}
    if st.session_state.get(state.SYSTEM_KEY) not in names:
        st.session_state[state.SYSTEM_KEY] = found[0].system_id
    chosen = st.sidebar.selectbox(
        "System",
        list(names),
        key=state.SYSTEM_KEY,
        format_func=names.__getitem__,
    )
    current = next(s for s in found if s.system_id == chosen)
    st.sidebar.caption(
        f"`{current.system_id}` · {current.kind} · {current.zones:,} zones  \n"
        f"{current.timezone}  \n"
        f"Data up to {fmt.day(current.last_day)}  \n"
        f"Forecast issued {fmt.day(current.latest_issue)}"
    )
    if st.sidebar.button("Reload data", icon=":material/refresh:", help="Read the store again"):
        st.cache_data.clear()
        st.rerun()


def main() -> None:
    """Lay out the app and run the chosen page."""
    st.set_page_config(page_title="fleetcast", page_icon="🛴", layout="wide")
    page = navigation()
    system_picker()
    page.run()


if __name__ == "__main__":
    main()
