"""Shared set-up of the Python tests: where the fixtures, the command and the data are."""

import os
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
BIN = Path(os.environ.get("STANDORT_BIN", ROOT / "target" / "release" / "standort"))


def run(*args: str, data: bool = False) -> bytes:
    """Run the standort command (on the fixtures unless `data`); its stdout. Fails the test
    with the command's stderr when it fails."""
    cmd = [str(BIN), *args]
    env = dict(os.environ)
    if not data:
        # The fixture world: its own data directory, layer set and profile.
        sub, rest = cmd[1], cmd[2:]
        cmd = [cmd[0], sub, "--data-dir", str(FIXTURES), "--layers", str(FIXTURES / "layers.toml"),
               "--profile", str(FIXTURES / "profile.toml"), *rest]
        env.pop("STANDORT_DATA_DIR", None)
    r = subprocess.run(cmd, capture_output=True, env=env)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def cli_csv(*args: str, data: bool = False) -> list:
    """The rows of the CSV the command writes to stdout, as dicts of text."""
    import csv
    import io

    out = run(*args, "--format", "csv", "-q", data=data)
    return list(csv.DictReader(io.StringIO(out.decode())))


@pytest.fixture
def fixture_engine():
    import standort

    eng = standort.Engine(profile=str(FIXTURES / "profile.toml"), data_dir=str(FIXTURES),
                          layers=str(FIXTURES / "layers.toml"), cache=False)
    yield eng
    eng.close()


@pytest.fixture
def fixture_sites() -> pa.Table:
    return pacsv.read_csv(str(FIXTURES / "sites.csv"))


def data_dir() -> str:
    """The real data directory (STANDORT_DATA_DIR), or skip."""
    d = os.environ.get("STANDORT_DATA_DIR")
    if not d:
        pytest.skip("STANDORT_DATA_DIR is not set")
    return d


def same_values(py_value, cli_text: str) -> bool:
    """A value of Engine.score equals the command's CSV cell (numbers as the shortest text
    that reads back to the same double; null as an empty cell)."""
    if py_value is None:
        return cli_text == ""
    if isinstance(py_value, float):
        return cli_text != "" and float(cli_text) == py_value
    return str(py_value) == cli_text
