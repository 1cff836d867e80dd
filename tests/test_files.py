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


def test_a_pipe_or_device_is_written_to_not_replaced(tmp_path):
    """``--csv /dev/stdout`` or a named pipe; before, the rename put a regular file in its place
    (as root, ``--csv /dev/full`` replaced the device)."""
    import threading

    folder = tmp_path / "out"
    folder.mkdir()
    fifo = folder / "pipe.csv"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_atomic(fifo, "a,b\n", mode=None)
    reader.join(5)
    assert got == ["a,b\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in folder.iterdir()] == ["pipe.csv"]
    if os.path.exists("/dev/full"):
        with pytest.raises(OSError):  # "No space left on device", said by the caller in one line
            write_atomic("/dev/full", "x")
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_symbolic_link_keeps_pointing_at_the_new_version(tmp_path):
    (tmp_path / "real.html").write_text("old")
    (tmp_path / "link.html").symlink_to(tmp_path / "real.html")
    write_atomic(tmp_path / "link.html", "new")
    assert (tmp_path / "link.html").is_symlink() and (tmp_path / "real.html").read_text() == "new"
