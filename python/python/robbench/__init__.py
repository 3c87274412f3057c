"""robbench from Python: NAS-RobBench-201 as an embedded analytical database.

    import robbench
    con = robbench.connect()          # the bundled benchmark; or a folder, read_only=, as_of=
    t = con.sql("SELECT arch, pgd8 FROM metrics_mean WHERE dataset = 'cifar10' ORDER BY pgd8 DESC LIMIT 10")
    t.arrow(); t.pl(); t.df(); t.fetchall()

The connection is the shell's session: the same SQL functions (train, evaluate, scores, search,
history, ...), the same commits and concurrent writers, the same error messages (raised as
robbench.Error). Ctrl-C (KeyboardInterrupt) stops a running statement as it does in the
shell: a running train stops at its next step and keeps its checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import math as _math
import os as _os
from pathlib import Path as _Path
from typing import Any, Iterable, Optional, Sequence

from . import _progress, _robbench

Error = _robbench.Error
__version__ = _robbench.__version__

__all__ = ["connect", "Connection", "Result", "Image", "Error", "__version__"]

_here = _Path(__file__).parent
# The bundled benchmark: the architectures, the published NAS-RobBench-201 table and the
# companion data, inside the package.
_bundled = _here / "bench"
# The worker that train, evaluate and scores run, inside the package unless ROBBENCH_WORKER
# names another. It runs on the torch package's libtorch: the one `import torch` would load,
# found without importing it (ROBBENCH_TORCH, which the worker reads).
_worker = _here / "robbench-worker"
if "ROBBENCH_WORKER" not in _os.environ and _worker.exists():
    _os.environ["ROBBENCH_WORKER"] = str(_worker)


def _torch_package() -> Optional[str]:
    """The folder of the torch package this interpreter would import, or None."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


if "ROBBENCH_TORCH" not in _os.environ:
    _torch = _torch_package()
    if _torch is not None:
        _os.environ["ROBBENCH_TORCH"] = _torch


def connect(
    bench: Optional[str | _os.PathLike] = None,
    read_only: bool = False,
    as_of: Optional[int | str | _dt.datetime] = None,
    device: Optional[str] = None,
    threads: Optional[int] = None,
) -> "Connection":
    """Opens a benchmark folder: None for $ROBBENCH_BENCH, else the bundled benchmark; a folder
    that does not exist yet is created. ``as_of`` opens it read-only as it was at a version
    (see ``history()``) or a UTC time. ``device`` is train's default device (auto, cpu, cuda,
    cuda:N), ``threads`` limits DuckDB and libtorch."""
    if isinstance(as_of, _dt.datetime):
        as_of = as_of.astimezone(_dt.timezone.utc).replace(tzinfo=None).isoformat()
    elif as_of is not None:
        as_of = str(as_of)
    return Connection(
        _robbench.connect(
            None if bench is None else _os.fspath(bench),
            str(_bundled),
            read_only,
            as_of,
            device,
            threads,
            _progress.Bars(),
        )
    )


def _literal(value: Any) -> str:
    """A Python value as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not _math.isfinite(value):
            raise Error(f"parameter {value!r}: not a finite number")
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, (_os.PathLike,)):
        return _literal(_os.fspath(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    raise Error(f"parameter {value!r}: robbench takes None, bool, int, float, str or lists of them")


def _bind(query: str, params: Sequence[Any]) -> str:
    """Replaces each ? placeholder outside strings, quoted names and comments by a literal."""
    out, i, k, n = [], 0, 0, len(query)
    while i < n:
        c = query[i]
        if c in "'\"":
            j = i + 1
            while j < n:
                if query[j] == c and j + 1 < n and query[j + 1] == c:
                    j += 2
                elif query[j] == c:
                    break
                else:
                    j += 1
            out.append(query[i : j + 1])
            i = j + 1
        elif query.startswith("--", i):
            j = query.find("\n", i)
            j = n if j < 0 else j
            out.append(query[i:j])
            i = j
        elif query.startswith("/*", i):
            j = query.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(query[i:j])
            i = j
        elif c == "?":
            if k >= len(params):
                raise Error(f"the statement has more ? placeholders than the {len(params)} parameters given")
            out.append(_literal(params[k]))
            k += 1
            i += 1
        else:
            out.append(c)
            i += 1
    if k != len(params):
        raise Error(f"{len(params)} parameters given for {k} ? placeholders")
    return "".join(out)


class Result:
    """A statement's result, held as Arrow record batches."""

    def __init__(self, table):
        self._table = table
        self._cursor = 0

    @property
    def columns(self) -> list[str]:
        return list(self._table.column_names)

    def arrow(self):
        """The result as a pyarrow.Table (no copy: robbench's Arrow buffers, shared)."""
        return self._table

    def pl(self):
        """The result as a polars DataFrame."""
        import polars

        return polars.from_arrow(self._table)

    def df(self):
        """The result as a pandas DataFrame."""
        return self._table.to_pandas()

    def fetchall(self) -> list[tuple]:
        """Every remaining row as a tuple."""
        rows = self._rows()[self._cursor :]
        self._cursor += len(rows)
        return rows

    def fetchone(self) -> Optional[tuple]:
        """The next row as a tuple, or None after the last."""
        rows = self._rows()
        if self._cursor >= len(rows):
            return None
        self._cursor += 1
        return rows[self._cursor - 1]

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows = self._rows()[self._cursor : self._cursor + size]
        self._cursor += len(rows)
        return rows

    def _rows(self) -> list[tuple]:
        if not hasattr(self, "_cache"):
            columns = [c.to_pylist() for c in self._table.columns]
            self._cache = list(zip(*columns)) if columns else []
        return self._cache

    def __len__(self) -> int:
        return self._table.num_rows

    def __repr__(self) -> str:
        return repr(self._table)

    def _repr_html_(self) -> Optional[str]:
        try:
            return self.df().to_html(max_rows=20)
        except ImportError:
            return None


class Image:
    """A figure: shown inline by a notebook, saved with ``save``."""

    def __init__(self, data: bytes, format: str):
        self.data = data
        self.format = format

    def save(self, path: str | _os.PathLike) -> None:
        """Writes the figure; the file name's extension must match its format."""
        p = _Path(path)
        if p.suffix.lstrip(".").lower() != self.format:
            raise Error(f"{p}: the figure is {self.format}; give a .{self.format} file name")
        p.write_bytes(self.data)

    def _repr_png_(self) -> Optional[bytes]:
        return self.data if self.format == "png" else None

    def _repr_svg_(self) -> Optional[str]:
        return self.data.decode() if self.format == "svg" else None


class Connection:
    """A session on one benchmark folder (see ``connect``)."""

    def __init__(self, inner):
        self._inner = inner

    def sql(self, query: str) -> Result:
        """Runs the statements of ``query`` (separated by ;) and returns the last one's result."""
        return Result(self._inner.sql(query))

    def execute(self, query: str, parameters: Optional[Sequence[Any]] = None) -> Result:
        """Runs ``query`` with ``?`` placeholders bound to ``parameters``, in order."""
        return self.sql(_bind(query, list(parameters or [])))

    def plot(self, query: str, kind: str, format: str = "png", **options: Any) -> Image:
        """The figure of ``query``'s result as the shell's ``.plot KIND key=value ...`` draws it:
        options are .plot's (x, y, color, value, title, xlabel, ylabel, fit, ref, percent,
        size), lists as ``y=["clean", "pgd8"]``."""
        words = [kind]
        for key, value in options.items():
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "on" if value else "off"
            words.append(f"{key}={value}")
        return Image(self._inner.plot(query, words, format), format)

    @property
    def bench(self) -> str:
        """The benchmark folder."""
        return self._inner.bench()[0]

    @property
    def read_only(self) -> bool:
        return self._inner.bench()[1]

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
