"""config/gunicorn.py: its hooks (prometheus-client multiprocess clean-up, gc.freeze before fork)."""

import gc
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


def test_forking_a_worker_freezes_the_preloaded_objects_out_of_its_collections(monkeypatch):
    monkeypatch.delenv("GUNICORN_GC_FREEZE", raising=False)
    gc.unfreeze()
    try:
        load_config()["pre_fork"](server=None, worker=None)

        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_gc_freeze_can_be_turned_off_for_a_comparison(monkeypatch):
    monkeypatch.setenv("GUNICORN_GC_FREEZE", "0")
    gc.unfreeze()

    load_config()["pre_fork"](server=None, worker=None)

    assert gc.get_freeze_count() == 0
