"""The analyse command on text input, checked against the public contract."""

import json
import os
import subprocess
import sys
import time

from answers import QUESTION, STRONG

CONTRACT_KEYS = {"schema", "input", "question", "company", "transcript", "duration_s", "structure", "sentences",
                 "delivery", "score", "advice", "error"}


def lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines()]


def test_text_file_json(tmp_path, cli):
    f = tmp_path / "a.txt"
    f.write_text(STRONG)
    r = cli("analyse", str(f), "--question", QUESTION, "--company", "doordash", "--json")
    assert r.code == 0, r
    (obj,) = lines(r.out)
    assert CONTRACT_KEYS <= set(obj) and obj["input"] == str(f) and obj["error"] is None
    assert obj["structure"]["link_back"]["present"] and obj["delivery"] is None


def test_stdin_transcript(cli):
    r = cli("analyse", "-", "--json", stdin=STRONG)
    assert r.code == 0
    (obj,) = lines(r.out)
    assert obj["input"] == "-" and obj["question"] is None and obj["company"] is None
    assert obj["transcript"].startswith("So you'd like")


def test_human_report_shows_transcript_checklist_score_advice(tmp_path, cli):
    f = tmp_path / "a.txt"
    f.write_text(STRONG.rsplit(". ", 1)[0] + ". I learned to always check the data.")
    r = cli("analyse", str(f), "-q", QUESTION, "-c", "doordash")
    assert r.code == 0
    for s in ("Your answer", "R-STAR-L", "Score", "What to work on", "general lesson", "Link back"):
        assert s in r.out


def test_bad_inputs_fail_one_by_one(tmp_path, cli):
    good = tmp_path / "good.txt"
    good.write_text(STRONG)
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\t ")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    huge = tmp_path / "huge.txt"
    huge.write_text(("word " * 210_000))
    missing = tmp_path / "missing.txt"
    r = cli("analyse", str(good), str(empty), str(binary), str(huge), str(missing), "--json")
    assert r.code == 1
    objs = lines(r.out)
    assert [o["input"] for o in objs] == [str(good), str(empty), str(binary), str(huge), str(missing)]
    assert objs[0]["error"] is None
    kinds = [o["error"]["kind"] for o in objs[1:]]
    assert kinds == ["empty", "not_text", "too_large", "missing"]
    for o in objs[1:]:
        assert o["structure"] == {} and o["sentences"] == [] and o["transcript"] == ""
    assert "Traceback" not in r.err
    assert len([x for x in r.err.splitlines() if x.startswith("error:")]) == 4


def test_empty_stdin(cli):
    r = cli("analyse", "-", "--json", stdin="   ")
    assert r.code == 1 and lines(r.out)[0]["error"]["kind"] == "empty"


def test_usage_errors_exit_2(tmp_path, cli):
    f = tmp_path / "a.txt"
    f.write_text(STRONG)
    r = cli("analyse", str(f), "--company", "acme-corp")
    assert r.code == 2 and "unknown company 'acme-corp'" in r.err and "doordash" in r.err
    assert r.out == ""
    assert cli("analyse", str(f), "--bogus").code == 2
    assert cli("analyse").code == 2
    assert cli("frobnicate").code == 2


def test_real_command_in_a_subprocess(tmp_path):
    """The installed console script, as a user's script calls it."""
    exe = os.path.join(os.path.dirname(sys.executable), "starcoach")
    f = tmp_path / "a.txt"
    f.write_text(STRONG)
    p = subprocess.run([exe, "analyse", str(f), "--json", "--company", "amazon"], capture_output=True, text=True)
    assert p.returncode == 0 and len(p.stdout.splitlines()) == 1
    assert json.loads(p.stdout)["company"] == "amazon"
    p = subprocess.run([sys.executable, "-m", "starcoach", "analyse", str(f), "--company", "zzz"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == "" and len(p.stderr.strip().splitlines()) == 1
    t0 = time.perf_counter()
    p = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "practice" in p.stdout
    assert time.perf_counter() - t0 < 5  # start-up target (0.3 s) is measured in benchmarks/


def test_a_database_failure_mid_command_is_one_line_not_a_traceback(cli, tmp_path, monkeypatch):
    import sqlite3

    from starcoach.pipeline import batch

    def locked(self):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(batch.Batch, "run", locked)
    answer = tmp_path / "a.txt"
    answer.write_text("I fixed the report and the error rate fell from six to two percent.\n")
    r = cli("analyse", str(answer), "--question", "Tell me about a time you fixed something.")
    assert r.code == 2 and "Traceback" not in r.err
    assert r.err.strip().splitlines() == ["starcoach: the session database failed (it stayed locked by another "
                                          "starcoach process; try again when that one has finished); the "
                                          "recordings in the data folder are kept"]
