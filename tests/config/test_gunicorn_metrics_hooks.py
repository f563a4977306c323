"""config/gunicorn.py: its defaults and hooks (metrics files, gc.freeze before fork, log flush at exit)."""

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


def test_there_is_one_web_process_per_core(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 4)

    assert load_config()["workers"] == 4


def test_a_single_core_still_gets_two_web_processes(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 1)

    assert load_config()["workers"] == 2


def test_web_concurrency_sets_the_process_count(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "6")

    assert load_config()["workers"] == 6


def test_an_exiting_worker_writes_its_queued_provisioning_events(monkeypatch):
    written = []
    monkeypatch.setattr("provisioning_logs.batching.flush_at_exit", lambda: written.append(True))

    load_config()["worker_exit"](server=None, worker=None)

    assert written == [True]
