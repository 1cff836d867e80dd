"""files.write_atomic: the one atomic write (vault, exports, the batch CSV)."""

from __future__ import annotations

import os
import stat

import pytest

from starcoach.files import write_atomic


def test_a_private_file_is_written_whole_with_mode_0600(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "vault.toml"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_atomic(path, "new text\n")
    assert path.read_text() == "new text\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["vault.toml"]


def test_mode_none_leaves_the_umask_default_and_newline_is_kept(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "out.csv"
        write_atomic(path, "a,b\r\n1,2\r\n", mode=None, newline="")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_missing_folder_is_made_only_when_asked(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no" / "file.txt", "x")
    write_atomic(tmp_path / "new" / "file.txt", "x", make_parent=True)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / "page.html"
    path.write_text("old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in folder.iterdir()] == ["page.html"]
