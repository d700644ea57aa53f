"""The lake half of the store: append-only, partitioned Parquet datasets.

Layout: ``<root>/<dataset>/system_id=<id>/<part>/part-0.parquet`` where ``<part>`` is
``date=YYYY-MM-DD`` (daily datasets) or ``year=YYYY`` (small yearly ones). Each partition
is one file. An append merges new rows into the partitions they touch, de-duplicates on the
dataset's keys (a later row replaces an earlier one with the same key), writes every new file
under a temporary name first and only then renames them into place, so a failed run leaves
the previous files untouched and re-running the same input leaves the same rows.

Snapshot datasets (station and vehicle status, telemetry) are polled every minute, so an
append must not rewrite the day: it adds one file per day it touches, named by a hash of the
rows' keys (the same snapshot appended twice lands on the same name, so re-runs stay
idempotent). :meth:`Lake.compact` later merges a day's files into one, de-duplicated.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import fsspec
import polars as pl
from fsspec.implementations.local import LocalFileSystem

from fleetcast.domain import Dataset
from fleetcast.errors import SchemaError, StoreError

Granularity = Literal["day", "year"]
_GRANULARITY: Final[dict[Dataset, Granularity]] = {
    Dataset.TRIPS: "day",
    Dataset.VEHICLE_STATUS: "day",
    Dataset.WEATHER_DAILY: "year",
    Dataset.QUARANTINE: "year",
}
_SYSTEM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_PART_FILE = "part-0.parquet"
_PART_GLOB = "part-*.parquet"


def check_system_id(system_id: str) -> str:
    """Return ``system_id`` if it is a safe id (lower case, digits, '-' and '_')."""
    if not _SYSTEM_ID.fullmatch(system_id):  # match() would let a trailing newline through
        raise ValueError(
            f"system id {system_id!r} not understood: use 1-64 lower-case letters, digits, "
            "'-' or '_', starting with a letter or digit"
        )
    return system_id


@dataclass(frozen=True, slots=True)
class Partition:
    """One file of a dataset: the system and the first and last day it can hold."""

    system_id: str
    label: str
    first_day: date
    last_day: date
    path: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append changed: rows written, keys not seen before, partition files rewritten."""

    rows: int
    rows_new: int
    partitions: int


def _folder(value: object) -> str:
    """Partition folder name for a ``date`` (daily) or a year number (yearly)."""
    return f"date={value.isoformat()}" if isinstance(value, date) else f"year={value}"


def _label_range(label: str) -> tuple[date, date]:
    key, _, value = label.partition("=")
    if key == "date":
        day = date.fromisoformat(value)
        return day, day
    if key == "year":
        return date(int(value), 1, 1), date(int(value), 12, 31)
    raise ValueError(f"not a partition folder: {label}")


def _keys_digest(keys: pl.DataFrame) -> str:
    """A short, stable name for a set of key rows (order-independent)."""
    hashes = keys.hash_rows(seed=0).sort()
    return hashlib.blake2b(hashes.to_numpy().tobytes(), digest_size=10).hexdigest()


class Lake:
    """Partitioned Parquet datasets under one fsspec URL (a local folder by default)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    def _join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def partitions(
        self,
        dataset: Dataset,
        *,
        system_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[Partition]:
        """Partition files of ``dataset``, optionally for one system and a day range."""
        if system_id is not None:
            check_system_id(system_id)
        base = self._join(dataset.value)
        if not self.fs.exists(base):
            return []
        found: list[Partition] = []
        system_dirs = (
            [self._join(dataset.value, f"system_id={system_id}")]
            if system_id is not None
            else [p for p in self.fs.ls(base, detail=False) if "system_id=" in p]
        )
        for system_dir in system_dirs:
            if not self.fs.exists(system_dir):
                continue
            sid = system_dir.rstrip("/").rsplit("system_id=", 1)[1]
            for part_dir in self.fs.ls(system_dir, detail=False):
                label = part_dir.rstrip("/").rsplit("/", 1)[1]
                try:
                    first, last = _label_range(label)
                except ValueError:
                    continue
                if (start is not None and last < start) or (end is not None and first > end):
                    continue
                if dataset.is_snapshots:
                    paths = sorted(self.fs.glob(f"{part_dir.rstrip('/')}/{_PART_GLOB}"))
                else:
                    path = f"{part_dir.rstrip('/')}/{_PART_FILE}"
                    paths = [path] if self.fs.exists(path) else []
                found.extend(Partition(sid, label, first, last, str(p)) for p in paths)
        return sorted(found, key=lambda p: (p.system_id, p.first_day, p.path))

    def scan(
        self,
        dataset: Dataset,
        *,
        system_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> pl.LazyFrame:
        """Rows of ``dataset`` (pruned to whole partitions; filter ``date`` for exact days).
        Snapshot days not yet compacted may hold a key twice; such a scan de-duplicates."""
        parts = self.partitions(dataset, system_id=system_id, start=start, end=end)
        schema = dataset.schema
        if not parts:
            return pl.LazyFrame(schema=schema)
        if self.is_local:
            frame = pl.scan_parquet([p.path for p in parts], schema=schema)
        else:
            frame = pl.concat([self._read(p.path).lazy() for p in parts])
        if start is not None:
            frame = frame.filter(pl.col("date") >= start)
        if end is not None:
            frame = frame.filter(pl.col("date") <= end)
        if dataset.is_snapshots and len(parts) > len({p.label for p in parts}):
            frame = frame.unique(subset=list(dataset.keys), keep="any", maintain_order=True)
        return frame

    def read(self, dataset: Dataset, **filters: str | date | None) -> pl.DataFrame:
        """Collected :meth:`scan`."""
        return self.scan(dataset, **filters).collect()  # type: ignore[arg-type]

    def _read(self, path: str) -> pl.DataFrame:
        with self.fs.open(path, "rb") as fh:
            return pl.read_parquet(fh)

    def append(self, dataset: Dataset, frame: pl.DataFrame) -> AppendResult:
        """Merge ``frame`` into ``dataset``; rows with an existing key replace the old ones."""
        schema = dataset.schema
        missing = [c for c in schema if c not in frame.columns]
        if missing:
            raise SchemaError(f"{dataset.value}: rows lack column(s) {missing}")
        frame = frame.select(list(schema)).cast(schema)  # type: ignore[arg-type]
        if frame.is_empty():
            return AppendResult(0, 0, 0)
        null_keys = frame.select(pl.any_horizontal(pl.col(k).is_null() for k in dataset.keys))
        if null_keys.to_series().any() or frame["date"].null_count():
            raise SchemaError(f"{dataset.value}: key columns {dataset.keys} or date are null")
        for sid in frame["system_id"].unique().to_list():
            check_system_id(sid)
        keys = list(dataset.keys)
        if frame.select(keys).is_duplicated().any():
            frame = frame.unique(subset=keys, keep="last", maintain_order=True)
        if dataset.is_snapshots:
            return self._add_snapshot_files(dataset, frame)
        if _GRANULARITY[dataset] == "day":
            part_col = "date"
        else:
            part_col = "_year"
            frame = frame.with_columns(pl.col("date").dt.year().alias("_year"))
        groups = frame.partition_by(["system_id", part_col], as_dict=True, maintain_order=True)
        finals = {
            key: f"{self._join(dataset.value, f'system_id={key[0]}', _folder(key[1]))}/{_PART_FILE}"
            for key in groups
        }
        ids = frame.select(["system_id", *(k for k in keys if k != "system_id")])
        moved = self._keys_elsewhere(dataset, ids, set(finals.values()))
        staged: list[tuple[str, str]] = []
        emptied: list[str] = []
        rows_new = -sum(hits.height for hits in moved.values())
        try:
            for path, hits in moved.items():
                kept = self._read(path).join(hits, on=keys, how="anti", maintain_order="left")
                if kept.is_empty():
                    emptied.append(path)
                    continue
                tmp = f"{path.rsplit('/', 1)[0]}/.{_PART_FILE}.{uuid.uuid4().hex}.tmp"
                staged.append((tmp, path))
                self._write(kept, tmp)
            for key, rows in groups.items():
                final = finals[key]
                folder = final.rsplit("/", 1)[0]
                rows = rows.select(list(schema))
                if self.fs.exists(final):
                    old = self._read(final).cast(schema)  # type: ignore[arg-type]
                    kept = old.join(rows, on=keys, how="anti", maintain_order="left")
                    rows_new += rows.height - (old.height - kept.height)
                    rows = pl.concat([kept, rows])
                else:
                    rows_new += rows.height
                    self.fs.makedirs(folder, exist_ok=True)
                tmp = f"{folder}/.{_PART_FILE}.{uuid.uuid4().hex}.tmp"
                staged.append((tmp, final))  # before writing: a failed write's tmp is discarded too
                self._write(rows, tmp)
        except BaseException:
            self._discard(tmp for tmp, _ in staged)
            raise
        self._commit(staged)
        self._discard(emptied)
        return AppendResult(frame.height, rows_new, len(staged) + len(emptied))

    def _add_snapshot_files(self, dataset: Dataset, frame: pl.DataFrame) -> AppendResult:
        """One new file per (system, day), named by the hash of its keys, all staged first."""
        keys = list(dataset.keys)
        staged: list[tuple[str, str]] = []
        rows_new = 0
        try:
            for (sid, day), rows in frame.partition_by(
                ["system_id", "date"], as_dict=True, maintain_order=True
            ).items():
                folder = self._join(dataset.value, f"system_id={sid}", _folder(day))
                digest = _keys_digest(rows.select(keys))
                final = f"{folder}/part-{digest}.parquet"
                if self.fs.exists(final):
                    continue
                self.fs.makedirs(folder, exist_ok=True)
                tmp = f"{folder}/.part-{digest}.{uuid.uuid4().hex}.tmp"
                staged.append((tmp, final))
                self._write(rows, tmp)
                rows_new += rows.height
        except BaseException:
            self._discard(tmp for tmp, _ in staged)
            raise
        self._commit(staged)
        return AppendResult(frame.height, rows_new, len(staged))

    def compact(
        self, dataset: Dataset, *, system_id: str | None = None, before: date | None = None
    ) -> int:
        """Merge each day's snapshot files into one de-duplicated file (days before ``before``
        only, when given: today's files are still being added to). Returns files removed."""
        if not dataset.is_snapshots:
            raise ValueError(f"{dataset.value} is not a snapshot dataset; nothing to compact")
        by_folder: dict[str, list[str]] = {}
        for part in self.partitions(dataset, system_id=system_id):
            if before is None or part.last_day < before:
                by_folder.setdefault(part.path.rsplit("/", 1)[0], []).append(part.path)
        removed = 0
        keys = list(dataset.keys)
        for folder, paths in by_folder.items():
            if len(paths) < 2:
                continue
            merged = pl.concat([self._read(p).cast(dataset.schema) for p in paths])  # type: ignore[arg-type]
            merged = merged.unique(subset=keys, keep="last", maintain_order=True)
            digest = _keys_digest(merged.select(keys))
            final = f"{folder}/part-{digest}.parquet"
            tmp = f"{folder}/.part-{digest}.{uuid.uuid4().hex}.tmp"
            try:
                self._write(merged, tmp)
            except BaseException:
                self._discard([tmp])
                raise
            self._commit([(tmp, final)])
            old = [p for p in paths if p != final]
            self._discard(old)
            removed += len(old)
        return removed

    def _keys_elsewhere(
        self, dataset: Dataset, new_keys: pl.DataFrame, touched: set[str]
    ) -> dict[str, pl.DataFrame]:
        """Keys of ``new_keys`` already stored in partitions other than ``touched``, by file.

        A row whose partition changed (its local day was corrected, say) must leave its old
        partition, or it would be stored twice.
        """
        keys = list(dataset.keys)
        found: dict[str, pl.DataFrame] = {}
        for sid in new_keys["system_id"].unique().to_list():
            others = [
                p.path for p in self.partitions(dataset, system_id=sid) if p.path not in touched
            ]
            if not others:
                continue
            mine = new_keys.filter(pl.col("system_id") == sid).select(keys)
            if self.is_local:
                stored = pl.scan_parquet(others, include_file_paths="_path").select(*keys, "_path")
            else:
                stored = pl.concat(
                    [
                        self._read(p).select(keys).with_columns(_path=pl.lit(p)).lazy()
                        for p in others
                    ]
                )
            hits = stored.join(mine.lazy(), on=keys, how="semi").collect()
            for (path,), rows in hits.partition_by("_path", as_dict=True).items():
                found[str(path)] = rows.drop("_path")
        return found

    def _write(self, frame: pl.DataFrame, path: str) -> None:
        try:
            if self.is_local:
                frame.write_parquet(path, compression="zstd", compression_level=1)
            else:
                with self.fs.open(path, "wb") as fh:
                    frame.write_parquet(fh, compression="zstd", compression_level=1)
        except OSError as exc:
            raise StoreError(f"could not write {path}: {exc}") from exc

    def _commit(self, staged: list[tuple[str, str]]) -> None:
        for tmp, final in staged:
            if self.is_local:
                self.fs.mv(tmp, final)
            else:
                self.fs.copy(tmp, final)
                self.fs.rm(tmp)

    def _discard(self, paths: Iterable[str]) -> None:
        for path in paths:
            if self.fs.exists(path):
                self.fs.rm(path)

    def delete(self, dataset: Dataset, *, system_id: str) -> int:
        """Remove every partition of one system; returns the number of files removed."""
        parts = self.partitions(dataset, system_id=check_system_id(system_id))
        folder = self._join(dataset.value, f"system_id={system_id}")
        if self.fs.exists(folder):
            self.fs.rm(folder, recursive=True)
        return len(parts)
