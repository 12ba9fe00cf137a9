"""The tolerance check of a fresh run's metrics against committed ones (issue 22, part 4)."""

import json
import subprocess

from faceleak.compare_metrics import compare_trees, main

COMMITTED = {
    "victims": 97,
    "dlib": {"sar": 0.216, "sar_count": 21, "sar_total": 97, "sar_ci95": [0.146, 0.308]},
    "accuracy": {"rate": 0.97, "count": 5820, "total": 6000, "ci95": [0.965, 0.974]},
    "psnr_db": 20.48,
    "train_minutes": 17.7,
    "engine": "bf16",
    "judges": ["facenet", "dlib"],
}


def _fresh(**changes) -> dict:
    fresh = json.loads(json.dumps(COMMITTED))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = fresh
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    return fresh


def test_a_rerun_within_intervals_and_tolerance_agrees():
    fresh = _fresh(dlib__sar=0.25, dlib__sar_count=24, dlib__sar_ci95=[0.17, 0.34], accuracy__rate=0.968, psnr_db=20.6, train_minutes=30.0)
    assert compare_trees(fresh, COMMITTED) == []


def test_a_rate_outside_the_committed_interval_moved():
    moved = compare_trees(_fresh(dlib__sar=0.10, accuracy__rate=0.95), COMMITTED)
    assert [(d.path, d.kind) for d in moved] == [("/accuracy/rate", "moved"), ("/dlib/sar", "moved")]


def test_numbers_text_totals_and_keys_are_checked():
    fresh = _fresh(psnr_db=19.0, judges=["facenet"], dlib__sar_total=96, accuracy__total=5000)
    del fresh["victims"]
    kinds = {d.path: d.kind for d in compare_trees(fresh, COMMITTED)}
    assert kinds == {"/psnr_db": "moved", "/judges": "moved", "/dlib/sar_total": "moved", "/accuracy/total": "moved", "/victims": "missing"}


def test_the_engine_is_noted_not_failed():
    assert [(d.kind, d.fresh) for d in compare_trees(_fresh(engine="fp32"), COMMITTED)] == [("engine", "fp32")]


def test_the_command_compares_a_folder_with_a_revision(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics/run.json").write_text(json.dumps(COMMITTED))
    for command in (["init", "-q"], ["add", "metrics"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "metrics"]):
        subprocess.run(["git", *command], check=True)
    assert main([]) == 0
    (tmp_path / "metrics/run.json").write_text(json.dumps(_fresh(psnr_db=25.0)))
    assert main([]) == 1
    assert "moved: metrics/run.json/psnr_db: 25.0 (committed 20.48)" in capsys.readouterr().out
