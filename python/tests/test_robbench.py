"""robbench from Python: the same results, commits and errors as the shell."""
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

import robbench
from conftest import ROOT, shell

TOP = "SELECT arch, arch_str, CAST(pgd8 AS VARCHAR) AS pgd8 FROM metrics_mean WHERE dataset = 'cifar10' ORDER BY pgd8 DESC, arch LIMIT 10"
DIGITS = "dataset := 'digits', epochs := 2, n_train := 256, n_eval := 64, batch_size := 128"


def rows_of_csv(text):
    return [tuple(r) for r in list(csv.reader(io.StringIO(text)))[1:]]


def test_results_equal_the_shells(bundled):
    con = robbench.connect(bundled, read_only=True)
    for query in [
        TOP,
        "SELECT dataset, CAST(round(spearman(clean, pgd8), 12) AS VARCHAR) FROM metrics_mean GROUP BY dataset ORDER BY dataset",
        "SELECT CAST(arch_uid('|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|') AS VARCHAR)",
    ]:
        ours = [tuple("" if v is None else str(v) for v in r) for r in con.sql(query).fetchall()]
        assert ours == rows_of_csv(shell(bundled, query)), query
    assert con.sql(TOP).fetchone()[0] == 2581
    assert con.read_only and Path(con.bench) == bundled.resolve()


def test_arrow_types_polars_and_pandas(bundled):
    con = robbench.connect(bundled, read_only=True)
    t = con.sql("SELECT arch, arch_str, ops, params_cifar10, flops_cifar10, is_unique FROM architectures ORDER BY arch LIMIT 5").arrow()
    assert isinstance(t, pa.Table)
    assert t.schema.types == [pa.int32(), pa.string(), pa.list_(pa.string()), pa.int64(), pa.float64(), pa.bool_()]
    assert t.column("arch").to_pylist() == [0, 1, 2, 3, 4]
    r = con.sql("SELECT run_id, started_at, clean FROM results WHERE started_at IS NOT NULL ORDER BY run_id LIMIT 3")
    assert r.arrow().schema.field("started_at").type == pa.timestamp("us")
    pl = r.pl()
    df = r.df()
    assert pl.shape == df.shape == (3, 3)
    assert list(pl.columns) == list(df.columns) == ["run_id", "started_at", "clean"]
    assert pl["clean"].to_list() == df["clean"].tolist() == r.arrow().column("clean").to_pylist()
    # A large result comes through whole.
    assert len(con.sql("SELECT * FROM metrics")) == int(rows_of_csv(shell(bundled, "SELECT count(*) FROM metrics"))[0][0])


def test_execute_binds_parameters_and_the_connection_is_a_context_manager(bench):
    with robbench.connect(bench) as con:
        con.execute("INSERT INTO scores (arch, dataset, score, value, source) VALUES (?, ?, ?, ?, ?)", [7, "cifar10", "it's", 0.25, None])
        got = con.execute("SELECT arch, score, value, source FROM scores WHERE arch = ? AND score = ?", (7, "it's")).fetchall()
        assert got == [(7, "it's", 0.25, None)]
        # A ? inside a string is text, not a placeholder.
        assert con.execute("SELECT '?' || ?", ["x"]).fetchone() == ("?x",)
    with pytest.raises(robbench.Error, match="closed"):
        con.sql("SELECT 1")


def test_errors_for_bad_input(bench):
    con = robbench.connect(bench)
    with pytest.raises(robbench.Error, match="15625|architecture"):
        con.sql("SELECT * FROM train(99999, dataset := 'digits')")
    with pytest.raises(robbench.Error, match="Catalog Error|does not exist"):
        con.sql("SELECT * FROM no_such_table")
    with pytest.raises(robbench.Error, match="placeholders"):
        con.execute("SELECT ?", [])
    with pytest.raises(robbench.Error, match="finite"):
        con.execute("SELECT ?", [float("nan")])
    with pytest.raises(robbench.Error, match="duplicate key"):
        con.sql("INSERT INTO metrics (run_id, arch, dataset, split) VALUES ('a', 1, 'cifar10', 'test'), ('a', 1, 'cifar10', 'test')")
    assert con.sql("SELECT count(*) FROM metrics").fetchone() == (0,)
    ro = robbench.connect(bench, read_only=True)
    with pytest.raises(robbench.Error, match="read-only"):
        ro.sql("INSERT INTO scores (arch, dataset, score) VALUES (1, 'cifar10', 'x')")
    with pytest.raises(robbench.Error, match="not a robbench benchmark"):
        robbench.connect(bench.parent / "missing", read_only=True)
    with pytest.raises(robbench.Error, match="version"):
        robbench.connect(bench, as_of=10**6)


def test_history_and_as_of(bench):
    con = robbench.connect(bench)
    con.sql("INSERT INTO scores (arch, dataset, score, value) VALUES (1, 'cifar10', 'x', 0.5)")
    v = con.sql("SELECT max(version) FROM history()").fetchone()[0]
    con.sql("DELETE FROM scores")
    assert con.sql("SELECT count(*) FROM scores").fetchone() == (0,)
    old = robbench.connect(bench, as_of=v)
    assert old.sql("SELECT arch, value FROM scores").fetchall() == [(1, 0.5)]


def test_train_on_digits_records_runs_curves_and_metrics(bench):
    con = robbench.connect(bench)
    out = con.sql(f"INSERT INTO metrics FROM train(1835, {DIGITS})")
    assert out.fetchone() == (1,)
    runs = con.sql("SELECT run_id, arch, dataset, epochs, source FROM runs").fetchall()
    assert len(runs) == 1 and runs[0][1:] == (1835, "digits", 2, "trained")
    assert con.sql("SELECT count(*) FROM curves WHERE run_id = ?".replace("?", repr(runs[0][0]))).fetchone() == (2,)
    clean, n_eval = con.sql("SELECT clean, n_eval FROM metrics").fetchone()
    assert n_eval == 64 and 0.0 <= clean <= 1.0
    # The shell sees what Python committed.
    assert rows_of_csv(shell(bench, "SELECT count(*) FROM metrics")) == [("1",)]


INTERRUPTED = """
import sys, time, robbench
con = robbench.connect(sys.argv[1])
print("started", flush=True)
try:
    con.sql("INSERT INTO metrics FROM train(1835, dataset := 'digits', epochs := 200, n_train := 1024, n_eval := 64)")
except KeyboardInterrupt:
    print("interrupted", flush=True)
    print(con.sql("SELECT count(*) FROM metrics").fetchone()[0], flush=True)
"""


def test_keyboard_interrupt_stops_train_at_a_step(bench):
    p = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(bench)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert out.split() == ["interrupted", "0"], err
    # The run kept its checkpoint, to resume from.
    checkpoints = list((bench / "checkpoints").glob("*/resume.safetensors"))
    assert checkpoints, list(bench.rglob("*"))


WRITER = """
import sys, robbench
con = robbench.connect(sys.argv[1])
w = int(sys.argv[2])
for k in range(15):
    con.execute("INSERT INTO metrics (run_id, arch, dataset, split, clean) VALUES (?, ?, 'cifar10', 'test', ?)", [f"w{w}/k{k}", w, k / 100])
    con.execute("UPDATE metrics SET pgd8 = ? WHERE run_id = ?", [k / 100, f"w{w}/k{k}"])
"""


def test_two_processes_writing_one_folder_lose_nothing(bench):
    robbench.connect(bench).close()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(bench), str(w)], stderr=subprocess.PIPE, text=True) for w in range(2)]
    for p in writers:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    con = robbench.connect(bench)
    rows = con.sql("SELECT run_id, clean, pgd8 FROM metrics ORDER BY run_id").fetchall()
    want = sorted((f"w{w}/k{k}", k / 100, k / 100) for w in range(2) for k in range(15))
    assert rows == want


def test_plot_returns_an_image_a_notebook_shows(bundled, tmp_path):
    con = robbench.connect(bundled, read_only=True)
    # Ordered: DuckDB's grouping gives rows in any order, and points drawn in another order
    # overlap differently.
    query = "SELECT clean, pgd8 FROM metrics_mean WHERE dataset = 'cifar10' ORDER BY arch"
    img = con.plot(query, kind="scatter", x="clean", y="pgd8", fit="spearman", title="clean vs PGD-8")
    assert img._repr_png_().startswith(b"\x89PNG")
    img.save(tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes() == img.data
    # The shell's renderer, byte for byte.
    shell(bundled, ".plot scatter x=clean y=pgd8 fit=spearman \"title=clean vs PGD-8\" out=" + str(tmp_path / "shell.png"), query)
    assert (tmp_path / "shell.png").read_bytes() == img.data
    svg = con.plot("SELECT dataset, avg(pgd8) AS pgd8 FROM metrics_mean GROUP BY dataset", kind="bar", x="dataset", y="pgd8", format="svg")
    assert svg._repr_svg_().lstrip().startswith("<svg") and svg._repr_png_() is None
    with pytest.raises(robbench.Error, match="svg"):
        svg.save(tmp_path / "f.png")
    with pytest.raises(robbench.Error, match="unknown plot kind"):
        con.plot("SELECT 1 AS x", kind="pie")


def test_the_notebook_executes(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "examples" / "paper.ipynb", as_version=4)
    os.environ["ROBBENCH_EXAMPLE_BENCH"] = str(tmp_path / "example")
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the notebook shows no figure"
    # The training cell shows its progress as tqdm's widget, not as text on the kernel's stderr.
    train = next(c for c in nb.cells if c.cell_type == "code" and "FROM train(" in c.source)
    widgets = [o for o in train.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, train.get("outputs")
    assert any("run 1/1 arch 1835" in o["data"].get("text/plain", "") for o in widgets), widgets


PROGRESS = f"""
import sys, robbench
robbench.connect(sys.argv[1]).sql("INSERT INTO metrics FROM train(1835, {DIGITS})")
"""


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    # A terminal 100 columns wide: tqdm fits its bar to the width, and a new pty has none.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    p = subprocess.Popen([sys.executable, "-c", PROGRESS, str(tmp_path / "tty")], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    assert p.wait(timeout=300) == 0, seen.decode(errors="replace")
    text = seen.decode(errors="replace")
    # tqdm's text bar: the task, a percentage and the bar, redrawn in place with \r.
    assert re.search(r"run 1/1 arch 1835: +\d+%\|", text), text
    piped = subprocess.run([sys.executable, "-c", PROGRESS, str(tmp_path / "pipe")], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert piped.returncode == 0, piped.stderr
    assert "%|" not in piped.stderr and "run 1/1" not in piped.stderr, piped.stderr
