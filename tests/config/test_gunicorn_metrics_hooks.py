"""config/gunicorn.py wires prometheus-client's multiprocess clean-up into gunicorn's hooks."""

import runpy
from pathlib import Path
from types import SimpleNamespace


GUNICORN_CONFIG = Path(__file__).resolve().parents[2] / "config" / "gunicorn.py"


def load_config():
    return runpy.run_path(str(GUNICORN_CONFIG))


def test_starting_gunicorn_empties_the_previous_runs_metric_files(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_111.db").write_bytes(b"")
    keep = tmp_path / "README"
    keep.write_text("not a metrics file")

    load_config()["on_starting"](server=None)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["README"]


def test_a_dead_worker_has_its_live_gauges_dropped_through_child_exit(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    dead, alive = tmp_path / "gauge_livesum_4242.db", tmp_path / "gauge_livesum_4343.db"
    dead.write_bytes(b"")
    alive.write_bytes(b"")

    load_config()["child_exit"](server=None, worker=SimpleNamespace(pid=4242))

    assert (dead.exists(), alive.exists()) == (False, True)
