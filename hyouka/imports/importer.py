"""``hyouka import``: outputs produced elsewhere become a run of external variants.

1. The file is hashed (sha256 of its bytes); with its format and the options that shape what
   is stored (``--variant``, ``--dataset``, the run it goes into) that is the import's key. An
   import with the same key already stored ends here: a no-op that says so.
2. The format's reader (:mod:`hyouka.imports.formats`) yields generic rows; each is checked
   (:func:`hyouka.imports.rows.parse_row`) and its case found: by ``id`` in the project's
   datasets (or ``--dataset NAME`` when that names one), or made from its inline ``vars`` —
   those cases form a new version of the dataset ``--dataset NAME`` (default
   ``import-<file stem>``).
3. Rows are written in chunks, all in **one transaction** with the run, the variants
   (kind ``external``, versioned by the file's hash: :func:`hyouka.variants.external_variant`),
   the imported scores (check ``import``) and judge takes (a judge sample per take, with its
   ``raw`` text, and the score on the judged sample with its repeat index, as hyouka's own
   judges store theirs), and the ``imports`` row. A bad row — unreadable, a bad field, an
   unknown case, a sample given twice — is a problem with its file, line and field; any
   problem rolls everything back (or, with ``skip_bad_rows``, is left out and counted).

Memory stays flat in the number of rows: rows are read and written a chunk at a time; what is
kept is per case (the case ids) and per variant, not per row.
"""

from __future__ import annotations

import gc
import hashlib
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from hyouka import __version__
from hyouka.config import Project
from hyouka.datasets import Case, _RowError, case_from_mapping, load_dataset
from hyouka.errors import DatasetError, HyoukaError, Location
from hyouka.hashing import content_hash
from hyouka.imports.formats import (
    FORMATS,
    READERS,
    FormatError,
    detect_format,
)
from hyouka.imports.rows import FieldProblem, ImportRow, parse_row
from hyouka.store import schema as t
from hyouka.store.schema import imports
from hyouka.store.store import RunInfo, Store, _run_info
from hyouka.store.tx import write_tx
from hyouka.variants import VariantSpec, external_variant

CHUNK = 2000
MAX_SHOWN = 20
IMPORT_CHECK = "import"  # check_name of imported scores
IMPORT_JUDGE = "import-judge"  # check_name of imported judge takes
_PARAMS_HASH = content_hash({}, 32)


@dataclass(frozen=True)
class ImportOptions:
    variant: str | None = None  # every row's variant
    dataset: str | None = None  # a project dataset to match ids in, or the inline cases' name
    run: str | None = None  # add to this stored run instead of a new one
    cases: str | Path | None = None  # a dataset file to match ids in (e.g. traces to-dataset's)
    format: str | None = None  # jsonl | csv | promptfoo | inspect (default: from the file)
    skip_bad_rows: bool = False
    chunk: int = CHUNK


@dataclass(frozen=True)
class ImportProblem:
    where: str  # file:line, or file: a path inside it
    field: str
    message: str

    def __str__(self) -> str:
        at = f" {self.field}:" if self.field else ""
        return f"{self.where}:{at} {self.message}"


@dataclass
class ImportResult:
    run: RunInfo
    already: bool  # the same import was stored before: nothing was written
    path: str
    format: str
    content_hash: str
    created_at: datetime | None = None
    rows: int = 0  # records read
    samples: int = 0
    scores: int = 0
    judge_takes: int = 0
    errors: int = 0  # samples the tool recorded as failed (stored with status error)
    skipped: int = 0  # bad rows left out (skip_bad_rows)
    problems: list[ImportProblem] = field(default_factory=list)  # the first MAX_SHOWN
    variants: list[str] = field(default_factory=list)
    dataset: str | None = None  # the inline cases' dataset, when there were any
    matched: list[str] = field(default_factory=list)  # project datasets whose ids matched

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.uid, "already_imported": self.already, "path": self.path,
            "format": self.format, "content_hash": self.content_hash,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "rows": self.rows, "samples": self.samples, "scores": self.scores,
            "judge_takes": self.judge_takes, "errors": self.errors, "skipped": self.skipped,
            "problems": [str(p) for p in self.problems], "variants": self.variants,
            "dataset": self.dataset, "matched_datasets": self.matched,
        }  # fmt: skip


class ImportProblems(HyoukaError):
    """Bad rows: nothing was imported."""

    def __init__(self, path: str, problems: list[ImportProblem], count: int, good: int) -> None:
        self.problems = problems
        self.count = count
        self.good = good
        shown = "\n".join(f"  {p}" for p in problems[:MAX_SHOWN])
        more = count - min(count, MAX_SHOWN)
        tail = f"\n  … and {more} more" if more > 0 else ""
        advice = (
            "Fix the rows, or pass --skip-bad-rows to import the good ones only."
            if good
            else "No row is good: nothing to import."
        )
        super().__init__(
            f"{path}: {count} bad row(s) ({good} good); nothing was imported:\n{shown}{tail}\n"
            f"{advice}"
        )


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_path(path: Path) -> None:
    if not path.exists():
        raise HyoukaError(f"{path}: file not found")
    if path.is_dir():
        raise HyoukaError(f"{path}: is a folder, not a file")


# -- cases ----------------------------------------------------------------------------------------


class _Cases:
    """Finds each row's case: by id in project datasets, or made from inline vars."""

    def __init__(self, project: Project, options: ImportOptions, stem: str) -> None:
        self.project = project
        configured = project.config.datasets
        # name -> dataset file: the project's datasets, or only --dataset's, or --cases FILE
        self.sources: dict[str, Path] = {n: project.resolve(c.path) for n, c in configured.items()}
        self.match_only = options.dataset is not None and options.dataset in configured
        if options.cases is not None:
            cases_path = Path(options.cases)
            self.match_only = True
            self.sources = {options.dataset or cases_path.stem: cases_path}
        elif options.dataset is not None and self.match_only:
            self.sources = {options.dataset: self.sources[options.dataset]}
        self.match_names: list[str] = list(self.sources)
        self.inline_name = options.dataset or f"import-{stem}"
        self._by_id: dict[str, tuple[int, int]] | None = None  # case id -> (case, dataset)
        self._ambiguous: dict[str, list[str]] = {}
        self.used_datasets: set[int] = set()
        self.dataset_names: dict[int, str] = {}
        self.inline: dict[str, tuple[str, int]] = {}  # inline case id -> (hash, db id)
        self._inline_pos: list[int] = []  # db ids, in first-seen order

    def load(self, conn: Connection, store_project: str) -> None:
        """The project's datasets (stored as their current versions, as a run stores them)."""
        self._by_id = {}
        seen: dict[str, tuple[str, str]] = {}  # case id -> (hash, dataset)
        for name in self.match_names:
            dataset = load_dataset(name, self.sources[name])
            dataset.raise_for_problems()
            ds_id, case_ids = save_dataset(conn, store_project, dataset)
            self.dataset_names[ds_id] = name
            for case in dataset.cases:
                first = seen.get(case.id)
                if first is not None and first[0] != case.hash:
                    self._ambiguous.setdefault(case.id, [first[1]]).append(name)
                    continue
                if first is None:
                    seen[case.id] = (case.hash, name)
                    self._by_id[case.id] = (case_ids[case.id], ds_id)

    def find(self, row: ImportRow) -> int:
        """The case's db id; raises FieldProblem. Inline cases are looked up, not stored."""
        if row.vars is not None and not self.match_only:
            raise AssertionError("inline rows go through inline_case()")
        assert self._by_id is not None
        if row.case_id is None:
            raise FieldProblem("id", f"is missing: rows are matched by id to dataset "
                               f"'{self.match_names[0]}'")  # fmt: skip
        if row.case_id in self._ambiguous:
            names = ", ".join(self._ambiguous[row.case_id])
            raise FieldProblem("id", f"case '{row.case_id}' differs between datasets {names}; "
                               "pass --dataset NAME")  # fmt: skip
        found = self._by_id.get(row.case_id)
        if found is None:
            where = (
                f"dataset '{self.match_names[0]}'"
                if len(self.match_names) == 1
                else f"the project's datasets ({', '.join(self.match_names) or 'none'})"
            )
            if not self.match_names:
                where += "; add the dataset to hyouka.yaml, or pass --cases FILE"
            raise FieldProblem("id", f"no case '{row.case_id}' in {where}")  # fmt: skip
        self.used_datasets.add(found[1])
        return found[0]

    def inline_case(self, row: ImportRow) -> Case:
        mapping: dict[str, Any] = {"vars": row.vars}
        if row.case_id is not None:
            mapping["id"] = row.case_id
        if row.expected is not None:
            mapping["expected"] = row.expected
        try:
            return case_from_mapping(mapping)
        except _RowError as exc:
            raise FieldProblem("vars", str(exc)) from None

    def store_inline(self, conn: Connection, found: list[Case]) -> None:
        """Store the new inline cases of a chunk (content-addressed, so shared with any dataset
        that has the same case); a case id given twice with other content is a problem."""
        missing = {c.hash: c for c in found if c.id not in self.inline}
        if not missing:
            return
        ids = _case_ids(conn, list(missing))
        new = [h for h in missing if h not in ids]
        if new:
            conn.execute(insert(t.cases), [
                {"case_hash": h, "case_key": missing[h].id, "content": missing[h].content()}
                for h in new
            ])  # fmt: skip
            ids.update(_case_ids(conn, new))
        for h, case in missing.items():
            if case.id not in self.inline:
                self.inline[case.id] = (h, ids[h])
                self._inline_pos.append(ids[h])

    def inline_id(self, case: Case) -> int:
        found = self.inline[case.id]
        if found[0] != case.hash:
            raise FieldProblem("vars", f"case '{case.id}' is given with other vars or expected "
                               "in an earlier row")  # fmt: skip
        return found[1]

    def save_inline_dataset(self, conn: Connection, project: str, path: str) -> int | None:
        if not self.inline:
            return None
        hashes = [h for h, _ in self.inline.values()]
        version = content_hash(hashes, 16)  # as Dataset.version
        return _save_dataset_row(conn, project, self.inline_name, version, path,
                                 self._inline_pos)  # fmt: skip


def _case_ids(conn: Connection, hashes: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        rows = conn.execute(select(t.cases.c.case_hash, t.cases.c.id).where(
            t.cases.c.case_hash.in_(chunk)))  # fmt: skip
        out.update({str(h): int(i) for h, i in rows})
    return out


def save_dataset(conn: Connection, project: str, dataset: Any) -> tuple[int, dict[str, int]]:
    """Store a dataset version in ``conn`` (idempotent), as Store.save_dataset does."""
    by_hash = {c.hash: c for c in dataset.cases}
    ids = _case_ids(conn, list(by_hash))
    new = [h for h in by_hash if h not in ids]
    if new:
        conn.execute(insert(t.cases), [
            {"case_hash": h, "case_key": by_hash[h].id, "content": by_hash[h].content()}
            for h in new
        ])  # fmt: skip
        ids.update(_case_ids(conn, new))
    case_ids = {c.id: ids[c.hash] for c in dataset.cases}
    ds_id = _save_dataset_row(conn, project, dataset.name, dataset.version, str(dataset.path),
                              [case_ids[c.id] for c in dataset.cases])  # fmt: skip
    return ds_id, case_ids


def _save_dataset_row(
    conn: Connection, project: str, name: str, version: str, path: str, case_ids: list[int]
) -> int:
    d = t.datasets.c
    existing = conn.execute(select(d.id).where(d.project == project, d.name == name,
                                               d.version == version)).scalar()  # fmt: skip
    if existing is not None:
        return int(existing)
    ds_id = int(conn.execute(insert(t.datasets).values(
        project=project, name=name, version=version, path=path, n_cases=len(case_ids)
    )).inserted_primary_key[0])  # type: ignore[index]  # fmt: skip
    if case_ids:
        conn.execute(insert(t.dataset_cases), [
            {"dataset_id": ds_id, "position": i, "case_id": cid} for i, cid in enumerate(case_ids)
        ])  # fmt: skip
    return ds_id


# -- variants -------------------------------------------------------------------------------------


def _save_variant(conn: Connection, project: str, spec: VariantSpec, kind: str) -> int:
    v = t.variants.c
    where = (v.project == project) & (v.name == spec.name) & (v.version == spec.version)
    existing = conn.execute(select(v.id).where(where)).scalar()
    if existing is not None:
        return int(existing)
    return int(conn.execute(insert(t.variants).values(
        project=project, name=spec.name, version=spec.version, kind=kind, spec=spec.identity,
        provider_type=None, model=spec.model or None, family=None,
    )).inserted_primary_key[0])  # type: ignore[index]  # fmt: skip


# -- the import -----------------------------------------------------------------------------------


class _Import:
    def __init__(
        self, project: Project, store: Store, path: Path, fmt: str, sha: str,
        options: ImportOptions, key: str, target: RunInfo | None,
    ) -> None:  # fmt: skip
        self.project = project
        self.name = project.config.name
        self.store = store
        self.path = path
        self.fmt = fmt
        self.sha = sha
        self.options = options
        self.key = key
        self.target = target
        self.cases = _Cases(project, options, path.stem)
        self.cache_key = f"import:{sha[:32]}"
        self.problems: list[ImportProblem] = []
        self.n_problems = 0
        self.variants: dict[str, int] = {}  # name -> variant id
        self.models: dict[str, str | None] = {}
        self.judges: dict[str, int] = {}  # metric -> judge variant id
        self.run_variants: dict[str, int] = {}  # names of the target run's variants
        self.max_sample = -1
        self.result: ImportResult | None = None
        self.run_id = 0
        self.sqlite = store.dialect == "sqlite"

    # -- problems

    def problem(self, where: str | int, fld: str, message: str) -> None:
        self.n_problems += 1
        if len(self.problems) < MAX_SHOWN:
            spot = f"{self.path}:{where}" if isinstance(where, int) and where else (
                f"{self.path}: {where}" if where else str(self.path))  # fmt: skip
            self.problems.append(ImportProblem(spot, fld, message))

    # -- run

    def _new_run(self, conn: Connection) -> int:
        uid = t.utcnow().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
        config = {"import": self.provenance()}
        return int(conn.execute(insert(t.runs).values(
            uid=uid, project=self.name, status="finished", seed=self.project.config.seed,
            samples=1, fingerprint=content_hash({"import": self.key}, 32), config=config,
            hyouka_version=__version__, finished_at=t.utcnow(),
        )).inserted_primary_key[0])  # type: ignore[index]  # fmt: skip

    def provenance(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.fmt, "content_hash": self.sha,
                "imported_at": t.utcnow().isoformat(), "options": self.key_options()}  # fmt: skip

    def key_options(self) -> dict[str, Any]:
        o = self.options
        return {"variant": o.variant, "dataset": o.dataset,
                "run": self.target.uid if self.target else None,
                "cases": str(o.cases) if o.cases is not None else None}  # fmt: skip

    def _variant(self, conn: Connection, row: ImportRow) -> int:
        vid = self.variants.get(row.variant)
        if vid is None:
            if row.variant in self.run_variants:
                raise FieldProblem("variant", f"run {self.target.uid if self.target else ''} "
                                   f"already has a variant '{row.variant}'; name this one "
                                   "with --variant NAME")  # fmt: skip
            spec = external_variant(row.variant, self.sha, self.fmt, row.model)
            vid = _save_variant(conn, self.name, spec, "external")
            conn.execute(insert(t.run_variants).values(run_id=self.run_id, variant_id=vid))
            self.variants[row.variant] = vid
            self.models[row.variant] = row.model
        elif row.model is not None and self.models.get(row.variant) != row.model:
            known = self.models.get(row.variant)
            if known is not None:
                raise FieldProblem("model", f"variant '{row.variant}' has model '{known}' in "
                                   f"earlier rows, '{row.model}' here; one model per variant "
                                   "(name each with 'variant')")  # fmt: skip
            self.models[row.variant] = row.model
            conn.execute(update(t.variants).where(t.variants.c.id == vid).values(model=row.model))
        return vid

    def _judge(self, conn: Connection, metric: str) -> int:
        jid = self.judges.get(metric)
        if jid is None:
            spec = external_variant(f"{metric}@import", self.sha, self.fmt)
            spec.identity["metric"] = metric
            jid = _save_variant(conn, self.name, spec, "judge")
            self.judges[metric] = jid
        return jid

    # -- rows

    def records(self) -> Iterator[tuple[str | int, ImportRow]]:
        assert self.result is not None
        try:
            for where, row in self._parsed():
                self.result.rows += 1
                if isinstance(row, FieldProblem):
                    self.problem(where, row.field, row.message)
                    continue
                yield where, row
        except FormatError as exc:
            raise HyoukaError(f"{self.path}: {exc}") from None

    def _parsed(self) -> Iterator[tuple[str | int, ImportRow | FieldProblem]]:
        for where, raw, error in READERS[self.fmt](self.path):
            yield where, _parse_one(raw, error, self.options.variant)

    def chunks(self) -> Iterator[list[tuple[str | int, ImportRow]]]:
        chunk: list[tuple[str | int, ImportRow]] = []
        for item in self.records():
            chunk.append(item)
            if len(chunk) >= self.options.chunk:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def run(self) -> ImportResult:
        with _fewer_collections(), write_tx(self.store) as conn:
            if self.target is None:
                self.run_id = self._new_run(conn)
            else:
                self.run_id = self.target.id
                self.run_variants = _run_variant_names(conn, self.run_id)
            for chunk in self.chunks():
                self._write_chunk(conn, chunk)
            assert self.result is not None
            res = self.result
            res.skipped = self.n_problems
            res.problems = self.problems
            if self.n_problems and not self.options.skip_bad_rows:
                raise ImportProblems(str(self.path), self.problems, self.n_problems, res.samples)
            if not res.samples:
                what = "no rows" if not res.rows else "no good rows"
                raise (
                    ImportProblems(str(self.path), self.problems, self.n_problems, 0)
                    if (self.n_problems)
                    else HyoukaError(f"{self.path}: {what}: nothing to import")
                )
            self._finish(conn)
        return self.result

    def _finish(self, conn: Connection) -> None:
        assert self.result is not None
        res = self.result
        inline = self.cases.save_inline_dataset(conn, self.name, str(self.path))
        linked = _run_dataset_ids(conn, self.run_id)
        for ds_id in sorted({*self.cases.used_datasets, *([inline] if inline else [])}):
            if ds_id not in linked:
                conn.execute(insert(t.run_datasets).values(run_id=self.run_id, dataset_id=ds_id))
        samples_now = self.target.samples if self.target else 1
        conn.execute(update(t.runs).where(t.runs.c.id == self.run_id).values(
            samples=max(samples_now, self.max_sample + 1)))  # fmt: skip
        now = t.utcnow()
        conn.execute(insert(imports).values(
            project=self.name, import_key=self.key, content_hash=self.sha, format=self.fmt,
            path=str(self.path.resolve()), run_id=self.run_id, dataset_id=inline,
            rows=res.rows, samples=res.samples, scores=res.scores, judge_takes=res.judge_takes,
            skipped=res.skipped, options=self.key_options(), created_at=now,
        ))  # fmt: skip
        res.created_at = now
        res.variants = sorted(self.variants)
        res.dataset = self.cases.inline_name if inline else None
        res.matched = sorted(self.cases.dataset_names[i] for i in self.cases.used_datasets)

    def _case_ids(self, conn: Connection, chunk: list[tuple[str | int, ImportRow]]) -> list[
            tuple[str | int, ImportRow, int]]:  # fmt: skip
        inline: list[tuple[str | int, ImportRow, Case]] = []
        out: list[tuple[str | int, ImportRow, int]] = []
        for where, row in chunk:
            try:
                if row.vars is not None and not self.cases.match_only:
                    inline.append((where, row, self.cases.inline_case(row)))
                else:
                    if self.cases._by_id is None:
                        self.cases.load(conn, self.name)
                    out.append((where, row, self.cases.find(row)))
            except FieldProblem as exc:
                self.problem(where, exc.field, exc.message)
        if inline:
            self.cases.store_inline(conn, [c for _, _, c in inline])
            for where, row, case in inline:
                try:
                    out.append((where, row, self.cases.inline_id(case)))
                except FieldProblem as exc:
                    self.problem(where, exc.field, exc.message)
        return out

    def _write_chunk(self, conn: Connection, chunk: list[tuple[str | int, ImportRow]]) -> None:
        assert self.result is not None
        good: list[tuple[str | int, ImportRow, int, int]] = []
        for where, row, case_id in self._case_ids(conn, chunk):
            try:
                good.append((where, row, case_id, self._variant(conn, row)))
            except FieldProblem as exc:
                self.problem(where, exc.field, exc.message)
        if not good:
            return
        rows = [self._sample_row(row, case_id, vid) for _, row, case_id, vid in good]
        try:
            with conn.begin_nested():
                ids = self._insert_samples(conn, rows)
        except IntegrityError:
            ids = self._one_by_one(conn, good, rows)
        score_rows: list[tuple[Any, ...]] = []
        add = score_rows.append
        takes: list[tuple[int, int, ImportRow]] = []
        for (_, row, case_id, _vid), sid in zip(good, ids, strict=True):
            if not sid:
                continue
            self.result.samples += 1
            if row.sample > self.max_sample:
                self.max_sample = row.sample
            if row.error is not None:
                self.result.errors += 1
                continue
            for metric, value, passed in row.scores:
                if value is None and passed is None:
                    add(_score(sid, IMPORT_CHECK, metric, 0, None, None, None))
                else:
                    add((sid, IMPORT_CHECK, metric, 0, value, passed, "ok", "imported", None))
            if row.takes:
                takes.append((sid, case_id, row))
        if takes:
            score_rows.extend(self._takes(conn, takes))
        if score_rows:
            self._insert_scores(conn, score_rows)
            self.result.scores += len(score_rows)

    def created_at(self, conn: Connection) -> Any:
        """Now, as SQLAlchemy binds a DateTime on this database (for the driver-level SQL)."""
        dialect = conn.dialect
        bind = t.samples.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        now = t.utcnow()
        return bind(now) if bind else now

    def _insert_samples(self, conn: Connection, rows: list[tuple[Any, ...]]) -> list[int]:
        """Insert sample rows; their ids in order. SQLite: one executemany on the driver (its
        INSERT … RETURNING goes a row at a time), the ids read as the range it added: inside
        this write transaction nothing else inserts, and rowids go up by one (checked)."""
        if not rows:
            return []
        if conn.dialect.name == "postgresql":
            return _copy_samples(conn, rows)
        if not self.sqlite:
            return _insert_returning(conn, rows)
        before = conn.exec_driver_sql("SELECT max(id) FROM samples").scalar() or 0
        now = self.created_at(conn)
        conn.exec_driver_sql(_SAMPLE_SQL, [(*r, now) for r in rows])
        after = conn.exec_driver_sql("SELECT max(id) FROM samples").scalar() or 0
        if after - before != len(rows):  # pragma: no cover - SQLite assigns max(rowid) + 1
            raise AssertionError("sample ids are not one contiguous range")
        return list(range(int(before) + 1, int(after) + 1))

    def _one_by_one(self, conn: Connection, good: list[tuple[str | int, ImportRow, int, int]],
                    rows: list[tuple[Any, ...]]) -> list[int]:  # fmt: skip
        ids: list[int] = []
        for (where, row, _, _), values in zip(good, rows, strict=True):
            try:
                with conn.begin_nested():
                    ids.extend(self._insert_samples(conn, [values]))
            except IntegrityError:
                ids.append(0)
                self.problem(where, "sample", f"variant '{row.variant}', case "
                             f"'{row.case_id or '(inline)'}', sample {row.sample} is given twice "
                             "(in this file, or already in the run)")  # fmt: skip
        return ids

    def _sample_row(self, row: ImportRow, case_id: int, vid: int) -> tuple[Any, ...]:
        """A sample row in :data:`_SAMPLE_COLS` order."""
        if row.error is None:
            status, output = "ok", row.output
        else:
            status, output = "error", row.output or None
        return (self.run_id, vid, case_id, row.sample, "", "app", None, status, output,
                row.error, row.latency_ms, row.input_tokens, row.output_tokens, row.cost,
                self.cache_key, False, 0)  # fmt: skip

    def _takes(self, conn: Connection, takes: list[tuple[int, int, ImportRow]]) -> list[
            tuple[Any, ...]]:  # fmt: skip
        judge_rows: list[tuple[Any, ...]] = []
        meta: list[tuple[int, str, int, float | None]] = []
        for sid, case_id, row in takes:
            for metric, take, value, raw in row.takes:
                jid = self._judge(conn, metric)
                judge_rows.append((self.run_id, jid, case_id, take, f"s:{sid}", "judge", None,
                                   "ok", raw, None, None, None, None, None, self.cache_key,
                                   False, 0))  # fmt: skip
                meta.append((sid, metric, take, value))
        ids = self._insert_samples(conn, judge_rows)
        assert self.result is not None
        self.result.judge_takes += len(ids)
        return [_score(sid, IMPORT_JUDGE, metric, take, value, None, jsid)
                for (sid, metric, take, value), jsid in zip(meta, ids, strict=True)]  # fmt: skip

    def _insert_scores(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self.sqlite:
            now = self.created_at(conn)
            conn.exec_driver_sql(_SCORE_SQL, [(*r, now) for r in rows])
        elif conn.dialect.name == "postgresql":
            _copy_scores(conn, rows)
        else:
            conn.execute(insert(t.scores), [
                {**dict(zip(_SCORE_COLS, r, strict=True)), "check_version": "1",
                 "params_hash": _PARAMS_HASH, "params": {}, "weight": 1.0}
                for r in rows
            ])  # fmt: skip


_SAMPLE_COLS = ("run_id", "variant_id", "case_id", "sample_index", "target", "role", "seed",
                "status", "output", "error", "latency_ms", "input_tokens", "output_tokens",
                "cost", "cache_key", "cached", "attempts")  # fmt: skip
_SAMPLE_SQL = (
    f"INSERT INTO samples ({', '.join(_SAMPLE_COLS)}, contexts, created_at) VALUES "
    f"({', '.join('?' for _ in _SAMPLE_COLS)}, NULL, ?)"
)
_COPY_SAMPLES = f"COPY samples (id, {', '.join(_SAMPLE_COLS)}, created_at) FROM STDIN"
_COPY_SCORES = (
    "COPY scores (sample_id, check_name, check_version, params_hash, params, metric, repeat, "
    "value, passed, status, reason, weight, judge_sample_id, created_at) FROM STDIN"
)
_SCORE_SQL = (
    "INSERT INTO scores (sample_id, check_name, check_version, params_hash, params, metric, "
    "repeat, value, passed, status, reason, weight, judge_sample_id, created_at) VALUES "
    f"(?, ?, '1', '{_PARAMS_HASH}', '{{}}', ?, ?, ?, ?, ?, ?, 1.0, ?, ?)"
)


_SCORE_COLS = ("sample_id", "check_name", "metric", "repeat", "value", "passed", "status",
               "reason", "judge_sample_id")  # fmt: skip


def _score(sample_id: int, check: str, metric: str, repeat: int, value: float | None,
           passed: bool | None, judge_sample_id: int | None) -> tuple[Any, ...]:  # fmt: skip
    """A score row in :data:`_SCORE_COLS` order."""
    if value is not None or passed is not None:
        return (sample_id, check, metric, repeat, value, passed, "ok", "imported",
                judge_sample_id)  # fmt: skip
    if judge_sample_id:
        return (sample_id, check, metric, repeat, None, None, "parse_error",
                "the imported verdict has no value", judge_sample_id)  # fmt: skip
    return (sample_id, check, metric, repeat, None, None, "skipped", "imported without a value",
            None)  # fmt: skip


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector, less often: an import makes millions of short-lived,
    acyclic objects (rows, tuples), and with the default thresholds a collection ran every 700
    of them, each young collection walking the chunk in hand and the older ones the whole heap
    (~10% of the import's CPU, measured in benchmarks/import_speed.py). The objects alive
    before the import are frozen out of the collections; both are restored at the end."""
    with _GC_GUARD:  # imports in several threads: the first sets, the last restores
        if not _GC_STATE:
            _GC_STATE.append(gc.get_threshold())
            gc.freeze()
            gc.set_threshold(50_000, 20, 20)
        _GC_STATE.append(None)
    try:
        yield
    finally:
        with _GC_GUARD:
            _GC_STATE.pop()
            if len(_GC_STATE) == 1:
                before = _GC_STATE.pop()
                assert before is not None
                gc.set_threshold(*before)
                gc.unfreeze()


_GC_GUARD = threading.Lock()
_GC_STATE: list[tuple[int, ...] | None] = []  # [thresholds before, one None per import]


def _parse_one(
    raw: Mapping[str, Any] | FieldProblem, error: str | None, variant: str | None
) -> ImportRow | FieldProblem:
    if isinstance(raw, FieldProblem):
        return raw
    try:
        row = parse_row(raw, variant)
    except FieldProblem as exc:
        return exc
    if error is not None:
        row.error = error
    return row


def _integrity(exc: Exception, what: str) -> Exception:
    """psycopg's unique violation as SQLAlchemy's IntegrityError (what the callers catch)."""
    if str(getattr(exc, "sqlstate", "") or "").startswith("23"):
        return IntegrityError(what, None, exc)
    return exc


def _copy_samples(conn: Connection, rows: list[tuple[Any, ...]]) -> list[int]:
    """PostgreSQL: ids taken from the table's sequence, rows sent with COPY (an INSERT …
    RETURNING of a chunk cost ~10x the Python time, measured in benchmarks/import_speed.py)."""
    raw: Any = conn.connection.dbapi_connection
    now = t.utcnow()
    with raw.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence('samples', 'id')) FROM generate_series(1, %s)",
            (len(rows),),
        )
        ids = [int(r[0]) for r in cur.fetchall()]
        try:
            with cur.copy(_COPY_SAMPLES) as copy:
                for sid, row in zip(ids, rows, strict=True):
                    copy.write_row((sid, *row, now))
        except Exception as exc:
            raise _integrity(exc, _COPY_SAMPLES) from exc
    return ids


def _copy_scores(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    raw: Any = conn.connection.dbapi_connection
    now = t.utcnow()
    with raw.cursor() as cur:
        try:
            with cur.copy(_COPY_SCORES) as copy:
                for sid, check, metric, repeat, value, passed, status, reason, jsid in rows:
                    copy.write_row((sid, check, "1", _PARAMS_HASH, "{}", metric, repeat, value,
                                    passed, status, reason, 1.0, jsid, now))  # fmt: skip
        except Exception as exc:
            raise _integrity(exc, _COPY_SCORES) from exc


def _insert_returning(conn: Connection, rows: list[tuple[Any, ...]]) -> list[int]:
    if not rows:
        return []
    result = conn.execute(
        insert(t.samples).returning(t.samples.c.id, sort_by_parameter_order=True),
        [{**dict(zip(_SAMPLE_COLS, r, strict=True)), "contexts": None} for r in rows],
    )
    return [int(r[0]) for r in result]


def _run_variant_names(conn: Connection, run_id: int) -> dict[str, int]:
    query = (
        select(t.variants.c.name, t.variants.c.id)
        .join(t.run_variants, t.run_variants.c.variant_id == t.variants.c.id)
        .where(t.run_variants.c.run_id == run_id)
    )
    return {str(n): int(i) for n, i in conn.execute(query)}


def _run_dataset_ids(conn: Connection, run_id: int) -> set[int]:
    rd = t.run_datasets.c
    return {int(i) for (i,) in conn.execute(select(rd.dataset_id).where(rd.run_id == run_id))}


def _already(store: Store, project: str, key: str) -> Mapping[str, Any] | None:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(imports).where(imports.c.project == project, imports.c.import_key == key)
        ).first()
    return dict(row._mapping) if row else None


def import_file(
    project: Project, store: Store, path: str | Path, options: ImportOptions | None = None
) -> ImportResult:
    """Import ``path`` into the project's store (see the module docstring)."""
    options = options or ImportOptions()
    file = Path(path)
    _check_path(file)
    if options.format is not None and options.format not in FORMATS:
        raise HyoukaError(f"unknown format '{options.format}' (one of: {', '.join(FORMATS)})")
    try:
        fmt = options.format or detect_format(file)
    except FormatError as exc:
        raise HyoukaError(f"{file}: {exc}") from None
    sha = file_hash(file)
    name = project.config.name
    target = store.get_run(options.run, name) if options.run else None
    cases_hash = None
    if options.cases is not None:
        _check_path(Path(options.cases))
        cases_hash = file_hash(Path(options.cases))
    key = content_hash([sha, fmt, options.variant, options.dataset,
                        target.uid if target else None, cases_hash], 32)  # fmt: skip
    found = _already(store, name, key)
    if found is not None:
        with store.engine.connect() as conn:
            run_row = conn.execute(select(t.runs).where(t.runs.c.id == found["run_id"])).first()
        assert run_row is not None
        return ImportResult(
            _run_info(run_row._mapping), True, str(file), fmt, sha, found["created_at"],
            rows=found["rows"], samples=found["samples"], scores=found["scores"],
            judge_takes=found["judge_takes"], skipped=found["skipped"],
        )  # fmt: skip
    job = _Import(project, store, file, fmt, sha, options, key, target)
    job.result = ImportResult(_placeholder_run(), False, str(file), fmt, sha)
    try:
        result = job.run()
    except DatasetError:
        raise
    except IntegrityError:
        # another process stored the same import meanwhile (the unique key)
        if _already(store, name, key) is None:
            raise
        return import_file(project, store, path, options)
    with store.engine.connect() as conn:
        run_row = conn.execute(select(t.runs).where(t.runs.c.id == job.run_id)).first()
    assert run_row is not None
    result.run = _run_info(run_row._mapping)
    return result


def _placeholder_run() -> RunInfo:
    now = t.utcnow()
    return RunInfo(0, "", "", "running", 0, 0, "", {}, now, None)


def import_location(problem: ImportProblem) -> Location:
    """A problem's place as a :class:`~hyouka.errors.Location` (for tools that want one)."""
    path, _, line = problem.where.rpartition(":")
    return Location(path, int(line)) if line.isdigit() else Location(problem.where)


__all__ = ["ImportOptions", "ImportProblem", "ImportProblems", "ImportResult", "import_file"]
