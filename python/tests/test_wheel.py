"""The wheel as a new user gets it: `make wheel`'s dist/robbench-*.whl installed into a bare venv
(torch and pyarrow from the registry), then run with no cargo, rustc, npm or make on PATH and an
empty HOME and ROBBENCH_CACHE, so nothing of the build machine can stand in for what the wheel
should hold."""
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import BIN, ROOT

TOP = "SELECT arch, pgd8 FROM metrics_mean WHERE dataset = 'cifar10' ORDER BY pgd8 DESC, arch LIMIT 10"
TRAIN = "INSERT INTO metrics FROM train(2581, dataset := 'digits', epochs := 1, n_train := 256, n_eval := 64, batch_size := 128, attacks := ['clean', 'pgd8'])"


@pytest.fixture(scope="session")
def wheel():
    wheels = sorted((ROOT / "dist").glob("robbench-*.whl"))
    assert len(wheels) == 1, f"make wheel leaves one wheel in dist/, found {wheels}"
    return wheels[0]


class Bare:
    """A venv holding only the wheel and what it depends on, and a clean environment."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "venv" / "bin"
        self.home = root / "home"
        self.home.mkdir()
        self.site = Path(
            subprocess.check_output(
                [self.bin / "python", "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"], text=True
            ).strip()
        )

    def env(self, **extra):
        env = {
            "PATH": str(self.bin),
            "HOME": str(self.home),
            "ROBBENCH_CACHE": str(self.root / "cache"),
            "LANG": "C.UTF-8",
        }
        env.update(extra)
        return env

    def run(self, *args, check=True, **extra):
        out = subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, env=self.env(**extra), cwd=self.home,
            stdin=subprocess.DEVNULL,
        )
        if check:
            assert out.returncode == 0, out.stderr
        return out


@pytest.fixture(scope="session")
def bare(wheel, tmp_path_factory):
    root = tmp_path_factory.mktemp("bare")
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", root / "venv"], check=True)
    # uv (a pinned test requirement) installs as pip does, from the registry, and keeps its
    # downloads in ROBBENCH_CACHE/uv, so CI does not fetch torch's CUDA libraries every run.
    uv = Path(sys.executable).parent / "uv"
    cache = Path(os.environ.get("ROBBENCH_CACHE", Path.home() / ".cache" / "robbench")) / "uv"
    env = {"PATH": str(root / "venv" / "bin"), "HOME": str(root), "UV_CACHE_DIR": str(cache)}
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    subprocess.run([uv, "pip", "install", "--quiet", "--python", root / "venv" / "bin" / "python", wheel], check=True, env=env)
    return Bare(root)


def test_the_wheel_is_one_abi3_manylinux_wheel_with_its_parts(wheel):
    assert re.fullmatch(r"robbench-[0-9.]+-cp39-abi3-manylinux_2_[0-9]+_x86_64\.whl", wheel.name), wheel.name
    names = set(zipfile.ZipFile(wheel).namelist())
    for part in [
        "robbench/_robbench.abi3.so",
        "robbench/robbench-worker",
        "robbench/librobbench_worker.so",
        "robbench/__init__.pyi",
        "robbench/py.typed",
        "robbench/bench/robbench.json",
    ]:
        assert part in names, part
    assert any(n.startswith("robbench.libs/libduckdb") for n in names), "libduckdb is not in the wheel"
    assert not any("libtorch" in n or "libc10" in n for n in names), "the wheel carries a libtorch"
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: torch==2.11.*" in meta
    assert "Description-Content-Type: text/markdown" in meta and "\n# robbench\n" in meta
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "robbench=robbench.__main__:main" in entry and "robbench-worker=robbench.__main__:worker" in entry


def test_auditwheel_names_a_manylinux_tag(wheel):
    audit = Path(sys.executable).parent / "auditwheel"
    out = subprocess.run([audit, "show", wheel], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    tag = re.search(r'consistent with the following platform tag: "(manylinux_2_\d+_x86_64)"', text)
    assert tag, out.stdout
    assert tag.group(1) in wheel.name


def test_the_installed_shell_prints_what_the_source_build_prints(bare):
    source = subprocess.run([BIN, "--read-only", "-c", TOP], capture_output=True, text=True, check=True).stdout
    assert source.splitlines()[1].startswith("2581,")
    assert bare.run(bare.bin / "robbench", "-c", TOP).stdout == source
    assert bare.run(bare.bin / "python", "-m", "robbench", "-c", TOP).stdout == source


def test_python_imports_and_queries_on_the_wheels_own_libduckdb(bare):
    script = f"""
import json, robbench
con = robbench.connect(read_only=True)
rows = con.sql({TOP!r}).fetchall()
maps = [line.split()[-1] for line in open('/proc/self/maps') if 'libduckdb' in line]
print(json.dumps({{"version": robbench.__version__, "top": rows[0], "n": len(rows), "bench": con.bench, "duckdb": sorted(set(maps))}}))
"""
    got = json.loads(bare.run(bare.bin / "python", "-c", script).stdout)
    version = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    assert got["version"] == version
    assert got["top"][0] == 2581 and got["n"] == 10
    assert Path(got["bench"]).is_relative_to(bare.site / "robbench")
    assert got["duckdb"] and all(Path(p).is_relative_to(bare.site / "robbench.libs") for p in got["duckdb"]), got


def test_a_digits_train_adds_rows_to_a_new_folder(bare):
    mine = bare.root / "mine"
    bare.run(bare.bin / "robbench", "--bench", mine, "-c", TRAIN)
    counts = bare.run(
        bare.bin / "robbench", "--bench", mine, "-c",
        "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM metrics WHERE clean IS NOT NULL AND pgd8 IS NOT NULL), (SELECT count(*) FROM curves)",
    ).stdout.splitlines()[1]
    assert counts == "1,1,1"


def test_the_worker_runs_on_the_installed_torchs_libtorch(bare):
    out = bare.run(bare.bin / "robbench-worker", "--version", LD_DEBUG="libs")
    assert re.match(r"robbench-worker [0-9.]+ \(worker protocol \d+\)", out.stdout), out.stdout
    # The dynamic loader's own account of what it opened.
    opened = set(re.findall(r"calling init: (\S*lib(?:torch\w*|c10\w*)\.so\S*)", out.stderr))
    assert any(Path(p).name == "libtorch_cpu.so" for p in opened), out.stderr[-3000:]
    torch_lib = bare.site / "torch" / "lib"
    assert all(Path(p).parent == torch_lib for p in opened), opened


def test_a_torch_of_another_release_is_refused_naming_both(bare):
    fake = bare.root / "fake"
    (fake / "torch" / "lib").mkdir(parents=True)
    (fake / "torch" / "__init__.py").write_text("")
    (fake / "torch" / "version.py").write_text("__version__ = '2.10.0+cpu'\n")
    script = f"""
import robbench
con = robbench.connect({str(bare.root / "mine-fake")!r})
try:
    con.sql({TRAIN!r})
except robbench.Error as e:
    print(e)
"""
    # PYTHONPATH puts the fake torch before the real one: it is the torch `import torch` finds.
    out = bare.run(bare.bin / "python", "-c", script, PYTHONPATH=str(fake)).stdout
    assert "torch 2.10.0+cpu" in out and "libtorch 2.11.0" in out and "torch==2.11.*" in out, out
    assert str(fake / "torch") in out, out
