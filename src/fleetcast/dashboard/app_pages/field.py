"""Field worker page, made for a phone: who I am (kept in the URL, ``?worker=W1``, so a
bookmark opens my list), my next stop in big type with what to do there and how far it is,
Start / Complete / Skip buttons, a map of my numbered tasks and where I am, then the rest of
my tasks in route order.

My position comes from the phone (the :mod:`~fleetcast.dashboard.geolocation` component);
when the browser does not share it (blocked, plain http, no fix yet) the page measures from
where my shift starts and says so. Every button writes through ``jobs.field.task_action``; a
refusal (the task changed meanwhile) is a warning, never a traceback.
"""

from __future__ import annotations

from typing import Any, Final

import polars as pl
import pydeck as pdk
import streamlit as st

from fleetcast.dashboard import formatting as fmt
from fleetcast.dashboard import geolocation, maps, state
from fleetcast.geo import haversine_m
from fleetcast.jobs import field
from fleetcast.jobs.field import TaskStateError, TaskStatus, UnknownTaskError
from fleetcast.jobs.plan_view import UnknownPlanError

TITLE: Final = "My tasks"
WORKER_KEY: Final = "field_worker"
POSITION_KEY: Final = "field_position"
SKIP_KEY: Final = "field_skipping"
FLASH_KEY: Final = "field_flash"
OPEN: Final = (TaskStatus.IN_PROGRESS.value, TaskStatus.ASSIGNED.value, TaskStatus.OPEN.value)
FINISHED: Final = (TaskStatus.DONE.value, TaskStatus.SKIPPED.value)
KINDS: Final = {
    "swap_battery": (":material/battery_charging_full:", "Swap battery"),
    "retrieve": (":material/local_shipping:", "Retrieve"),
    "drop": (":material/move_to_inbox:", "Drop vehicles"),
    "repair": (":material/build:", "Repair"),
    "reposition": (":material/swap_horiz:", "Reposition"),
}
"""Icon (Streamlit's bundled Material Symbols: no emoji font needed on the phone) and words."""
SKIP_REASONS: Final = (
    "Vehicle not found",
    "No access / blocked",
    "Already done",
    "Vehicle damaged",
    "Unsafe here",
    "Other",
)
SPEED_KMH: Final = {"walk": 4.5, "van": 18.0}
MAP_HEIGHT_PX: Final = 320
MAP_WIDTH_PX: Final = 360
NEXT_RGB: Final = (247, 103, 7)
LATER_RGB: Final = (73, 80, 87)
ME_RGB: Final = (28, 126, 214)
_TIPS: Final = ("tip_title", "tip_id", "tip_a", "tip_b")
TOOLTIP: Final = (
    "<b>{tip_title}</b> <span style='color:#777'>{tip_id}</span><br/>{tip_a}<br/>{tip_b}"
)
CSS: Final = """<style>
.st-key-field_page { max-width: 640px; }
.st-key-field_actions button, .st-key-field_skip button {
  min-height: 3.4rem; font-size: 1.15rem; font-weight: 600;
}
.st-key-field_next h3 { padding-top: 0.1rem; }
.st-key-field_next p { font-size: 1.05rem; }
</style>"""


def kind_label(kind: str | None) -> str:
    """``:material/battery_charging_full: Swap battery`` for ``swap_battery`` (Streamlit
    markdown draws the icon); unknown kinds in words."""
    icon, label = KINDS.get(
        kind or "", (":material/task_alt:", (kind or "task").replace("_", " ").capitalize())
    )
    return f"{icon} {label}"


def plain_kind(kind: str | None) -> str:
    """The kind in words, for map tooltips and notes that draw no icons."""
    return kind_label(kind).split(" ", 1)[1]


def metres(distance_m: float | None) -> str:
    """``350 m`` or ``2.4 km``."""
    if distance_m is None or distance_m != distance_m:
        return fmt.MISSING
    if distance_m < 1000:
        return f"{round(distance_m / 10) * 10:,.0f} m"
    return f"{distance_m / 1000:,.1f} km"


def order(tasks: pl.DataFrame) -> pl.DataFrame:
    """The tasks in route order with their number on the route (``n``): a task in progress
    comes first, since the worker is at it."""
    if tasks.is_empty():
        return tasks.with_columns(pl.lit(None, dtype=pl.Int64).alias("n"))
    numbered = tasks.with_row_index("_pos").with_columns(
        pl.coalesce(pl.col("route_seq").cast(pl.Int64), pl.col("_pos").cast(pl.Int64) + 1).alias(
            "n"
        ),
        (pl.col("status") != TaskStatus.IN_PROGRESS.value).alias("_later"),
    )
    return numbered.sort("_later", "_pos").drop("_pos", "_later")


def with_distance(tasks: pl.DataFrame, here: tuple[float, float]) -> pl.DataFrame:
    """The tasks with their straight-line distance from ``here`` (lat, lon) in metres."""
    if tasks.is_empty():
        return tasks.with_columns(pl.lit(None, dtype=pl.Float64).alias("distance_m"))
    located = tasks["lat"].is_not_null() & tasks["lon"].is_not_null()
    lat = tasks["lat"].fill_null(here[0]).to_numpy()
    lon = tasks["lon"].fill_null(here[1]).to_numpy()
    distance = pl.Series("distance_m", haversine_m(here[0], here[1], lat, lon))
    return tasks.with_columns(pl.when(located).then(distance).otherwise(None).alias("distance_m"))


def choose_worker(workers: pl.DataFrame, system_id: str) -> dict[str, Any] | None:
    """ "Who am I": the worker picked here or named by ``?worker=`` in the URL, which follows
    the choice so that a bookmark opens the same list."""
    ids = workers["worker_id"].to_list()
    names = dict(zip(ids, workers["name"].to_list(), strict=True))
    wanted = st.query_params.get("worker")
    if wanted and wanted not in ids:
        st.warning(
            f"Worker `{wanted}` is not a worker of {system_id}. Choose your name below.",
            icon=":material/person_off:",
        )
    if WORKER_KEY not in st.session_state and wanted in ids:
        st.session_state[WORKER_KEY] = wanted
    chosen = st.selectbox(
        "Who am I?",
        ids,
        index=None,
        placeholder="Choose your name",
        format_func=lambda w: f"{names.get(w) or w} · {w}",
        key=WORKER_KEY,
    )
    if chosen is None:
        return None
    if st.query_params.get("worker") != chosen:
        st.query_params["worker"] = chosen
    return next(r for r in workers.iter_rows(named=True) if r["worker_id"] == chosen)


def position(worker: dict[str, Any]) -> tuple[tuple[float, float], float | None, bool]:
    """Where distances start: the phone's position when shared, else the worker's shift
    start (with a note saying why). Returns (lat, lon), accuracy in metres, and whether it
    is the phone's."""
    found = geolocation.locate(POSITION_KEY)
    if isinstance(found, geolocation.Position):
        return (found.lat, found.lon), found.accuracy_m, True
    start = (float(worker["lat"]), float(worker["lon"]))
    why = (
        "Waiting for your phone's location"
        if found.reason == "waiting"
        else f"No location from your phone ({found.message})"
    )
    st.caption(f"{why}: distances are from your shift start ({start[0]:.5f}, {start[1]:.5f}).")
    return start, None, False


def act(
    key: state.StoreKey,
    task: dict[str, Any],
    action: str,
    worker_id: str,
    *,
    reason: str | None = None,
) -> None:
    """Apply a task action through the field job, then rerun with a short note (a warning
    when the store refused it, e.g. the task was changed or re-planned meanwhile)."""
    try:
        field.task_action(
            state.open_store(*key), task["task_id"], action, assignee=worker_id, reason=reason
        )
    except (TaskStateError, UnknownTaskError) as exc:
        st.session_state[FLASH_KEY] = ("warning", f"Not saved: {exc}")
    else:
        done = {"start": "Started", "complete": "Done", "skip": "Skipped"}[action]
        st.session_state[FLASH_KEY] = ("ok", f"{done}: {task['n']}. {plain_kind(task['kind'])}")
    st.session_state.pop(SKIP_KEY, None)
    state.field_tasks.clear()
    st.rerun()


def show_flash() -> None:
    """The note the last action left (a toast when it worked, a warning when refused)."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if not flash:
        return
    level, text = flash
    if level == "ok":
        st.toast(text, icon=":material/check_circle:")
    else:
        st.warning(text, icon=":material/warning:")


def where(task: dict[str, Any], zone_names: dict[str, str]) -> str:
    """Parking, zone and coordinates of a task, as far as they are known."""
    parts = []
    if task.get("parking_id"):
        parts.append(f"Parking {task['parking_id']}")
    zone = task.get("zone_id")
    if zone:
        name = zone_names.get(zone)
        parts.append(f"Zone {zone}" + (f" ({name})" if name and name != zone else ""))
    if task.get("lat") is not None and task.get("lon") is not None:
        parts.append(f"{task['lat']:.5f}, {task['lon']:.5f}")
    return " · ".join(parts) or "No location"


def next_stop(
    key: state.StoreKey,
    task: dict[str, Any],
    worker: dict[str, Any],
    zone_names: dict[str, str],
    *,
    from_phone: bool,
) -> None:
    """The next stop in big type with its buttons (or the skip form)."""
    with st.container(border=True, key="field_next"):
        status = task["status"]
        badge = "In progress" if status == TaskStatus.IN_PROGRESS.value else "Next"
        st.badge(badge, color="orange" if badge == "In progress" else "blue")
        st.subheader(f"{task['n']}. {kind_label(task['kind'])}", anchor=False)
        if task.get("reason"):
            st.markdown(task["reason"])
        if task.get("vehicle_id"):
            st.markdown(f"Vehicle **{task['vehicle_id']}**")
        elif task.get("quantity"):
            st.markdown(f"**{task['quantity']}** vehicles")
        st.markdown(f":material/location_on: {where(task, zone_names)}")
        distance = task.get("distance_m")
        if distance is not None:
            speed = SPEED_KMH.get(str(worker.get("mode")), SPEED_KMH["walk"])
            minutes = max(1, round(distance / 1000 / speed * 60))
            origin = "from you" if from_phone else "from your shift start"
            st.markdown(
                f"### {metres(distance)} <span style='font-size:0.9rem;font-weight:400;"
                f"color:#666'>{origin} · ~{minutes} min {worker.get('mode') or 'walk'}</span>",
                unsafe_allow_html=True,
            )
        if task.get("lat") is not None and task.get("lon") is not None:
            st.link_button(
                "Directions",
                f"https://www.google.com/maps/dir/?api=1&destination={task['lat']},{task['lon']}",
                icon=":material/directions:",
                width="stretch",
            )
    if st.session_state.get(SKIP_KEY) == task["task_id"]:
        skip_form(key, task, str(worker["worker_id"]))
    else:
        action_buttons(key, task, str(worker["worker_id"]))


def action_buttons(key: state.StoreKey, task: dict[str, Any], worker_id: str) -> None:
    """Start (until started), Complete and Skip, full width for a thumb."""
    task_id = task["task_id"]
    started = task["status"] == TaskStatus.IN_PROGRESS.value
    with st.container(key="field_actions"):
        if not started and st.button(
            "Start",
            key=f"start_{task_id}",
            type="primary",
            icon=":material/play_arrow:",
            width="stretch",
        ):
            act(key, task, "start", worker_id)
        if st.button(
            "Complete",
            key=f"complete_{task_id}",
            type="primary" if started else "secondary",
            icon=":material/check:",
            width="stretch",
        ):
            act(key, task, "complete", worker_id)
        if st.button("Skip", key=f"skip_{task_id}", icon=":material/skip_next:", width="stretch"):
            st.session_state[SKIP_KEY] = task_id
            st.rerun()


def skip_reason(choice: str | None, details: str) -> str | None:
    """The reason stored with a skip: the chosen reason and the details; None when there is
    no reason (nothing chosen, or "Other" without details)."""
    details = details.strip()
    if choice is None or (choice == "Other" and not details):
        return None
    if choice == "Other":
        return details
    return f"{choice}: {details}" if details else choice


def skip_form(key: state.StoreKey, task: dict[str, Any], worker_id: str) -> None:
    """Why the task is skipped: a common reason or one's own words, then confirm or cancel."""
    task_id = task["task_id"]
    with st.container(key="field_skip"):
        choice = st.selectbox(
            "Why skip it?",
            SKIP_REASONS,
            index=None,
            placeholder="Choose a reason",
            key=f"skip_reason_{task_id}",
        )
        details = st.text_input(
            "Details", key=f"skip_details_{task_id}", placeholder="Optional, needed for Other"
        )
        if st.button(
            "Skip this task",
            key=f"skip_confirm_{task_id}",
            type="primary",
            icon=":material/skip_next:",
            width="stretch",
        ):
            reason = skip_reason(choice, details)
            if reason is None:
                st.warning(
                    "Say why: choose a reason (and write it for Other).", icon=":material/edit:"
                )
            else:
                act(key, task, "skip", worker_id, reason=reason)
        if st.button("Cancel", key=f"skip_cancel_{task_id}", width="stretch"):
            st.session_state.pop(SKIP_KEY, None)
            st.rerun()


def task_points(tasks: pl.DataFrame, zone_names: dict[str, str]) -> list[dict[str, Any]]:
    """My located tasks as numbered markers, the next one larger and orange."""
    points = []
    for i, task in enumerate(tasks.iter_rows(named=True)):
        if task["lat"] is None or task["lon"] is None:
            continue
        points.append(
            {
                "lon": task["lon"],
                "lat": task["lat"],
                "rgb": list(NEXT_RGB if i == 0 else LATER_RGB),
                "radius": 16 if i == 0 else 11,
                "label": str(task["n"]),
                "text_rgb": [255, 255, 255],
                "tip_title": f"{task['n']}. {plain_kind(task['kind'])}",
                "tip_id": task["vehicle_id"] or "",
                "tip_a": task["reason"] or "",
                "tip_b": f"{metres(task['distance_m'])} · {where(task, zone_names)}",
            }
        )
    return points


def task_map(
    tasks: pl.DataFrame,
    here: tuple[float, float],
    accuracy_m: float | None,
    zone_names: dict[str, str],
    *,
    from_phone: bool,
) -> Any:
    """A phone-sized map: my position, my route through the tasks, the tasks numbered."""
    points = task_points(tasks, zone_names)
    me = {
        "lon": here[1],
        "lat": here[0],
        "rgb": list(ME_RGB),
        "radius": 9,
        "tip_title": "You are here" if from_phone else "Your shift start",
        "tip_id": "",
        "tip_a": f"±{fmt.count(accuracy_m)} m" if accuracy_m is not None else "",
        "tip_b": "",
    }
    path = [[here[1], here[0]], *([p["lon"], p["lat"]] for p in points)]
    layers = []
    if accuracy_m:
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=[{**me, "accuracy": accuracy_m}],
                id="accuracy",
                get_position=["lon", "lat"],
                get_radius="accuracy",
                get_fill_color=[*ME_RGB, 40],
                stroked=False,
            )
        )
    if len(path) > 1:
        layers.append(
            maps.path_layer(
                [{"path": path, "rgb": [*LATER_RGB, 150], **dict.fromkeys(_TIPS, "")}],
                layer_id="route",
                width_px=3,
                faint=True,
            )
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            data=[*reversed(points), me],
            id="stops",
            pickable=True,
            get_position=["lon", "lat"],
            get_fill_color="rgb",
            get_radius="radius",
            radius_units="'pixels'",
            stroked=True,
            get_line_color=[255, 255, 255, 230],
            line_width_min_pixels=2,
        )
    )
    layers.append(maps.text_layer(points, layer_id="numbers", size_px=13))
    near = [(here[1], here[0]), *((p["lon"], p["lat"]) for p in points[:5])]
    view = maps.fit_view(near, width_px=MAP_WIDTH_PX, height_px=MAP_HEIGHT_PX)
    return maps.deck(layers, view, tooltip_html=TOOLTIP)


def later_list(tasks: pl.DataFrame, zone_names: dict[str, str]) -> None:
    """The tasks after the next one, one line each."""
    if tasks.is_empty():
        return
    st.markdown("**Then**")
    lines = []
    for task in tasks.iter_rows(named=True):
        what = kind_label(task["kind"])
        vehicle = f" · {task['vehicle_id']}" if task["vehicle_id"] else ""
        zone = f" · {task['zone_id']}" if task["zone_id"] else ""
        lines.append(f"{task['n']}. {what}{vehicle}{zone} · {metres(task['distance_m'])}")
    st.markdown("\n".join(lines))


def progress_line(finished: pl.DataFrame, tasks: pl.DataFrame) -> str:
    """Tasks done and skipped of the plan the open tasks belong to, and tasks left."""
    plan_ids = set(tasks["plan_id"].drop_nulls().to_list()) if tasks.height else set()
    if plan_ids and finished.height:
        finished = finished.filter(pl.col("plan_id").is_in(list(plan_ids)))
    elif finished.height:
        finished = finished.head(0)
    done = finished.filter(pl.col("status") == TaskStatus.DONE.value).height
    skipped = finished.height - done
    return f"{tasks.height} left · {done} done" + (f" · {skipped} skipped" if skipped else "")


def has_plan(key: state.StoreKey, system_id: str) -> bool:
    """Whether the system has a plan (without one no task is assigned)."""
    try:
        state.latest_plan(key, system_id)
    except UnknownPlanError:
        return False
    return True


def render() -> None:
    """The page."""
    system_id = state.require_system()
    key = state.store_key()
    st.html(CSS)
    with st.container(key="field_page"):
        st.title(TITLE, anchor=False)
        workers = state.workers(key, system_id)
        if not has_plan(key, system_id):
            state.show_no_plan(system_id)
        if workers.is_empty():
            st.info(
                f"**No field workers for {system_id} yet.** Add one, then make a plan:\n\n"
                f"```\nfleetcast workers add --system {system_id} --id W1 --name Ana "
                "--lat 41.88 --lon -87.63\n"
                f"fleetcast plan --system {system_id}\n```",
                icon=":material/engineering:",
            )
            return
        if not has_plan(key, system_id):
            return
        worker = choose_worker(workers, system_id)
        if worker is None:
            return
        show_flash()
        worker_id = str(worker["worker_id"])
        here, accuracy_m, from_phone = position(worker)
        tasks = with_distance(order(state.field_tasks(key, system_id, worker_id, OPEN)), here)
        finished = state.field_tasks(key, system_id, worker_id, FINISHED)
        if tasks.is_empty():
            st.success(
                "**Nothing left to do.** No task is assigned to you right now.",
                icon=":material/task_alt:",
            )
            return
        st.caption(progress_line(finished, tasks))
        zone_names = {
            f["properties"]["zone_id"]: f["properties"]["name"]
            for f in state.zones_geojson(key, system_id)["features"]
        }
        first = tasks.row(0, named=True)
        next_stop(key, first, worker, zone_names, from_phone=from_phone)
        st.pydeck_chart(
            task_map(tasks, here, accuracy_m, zone_names, from_phone=from_phone),
            height=MAP_HEIGHT_PX,
            width="stretch",
        )
        later_list(tasks.slice(1), zone_names)


if __name__ == "__main__":
    render()
