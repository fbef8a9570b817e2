"""bearer_file: a token file read again when it changes, its tokens redacted,
its problems one line that never holds the token."""

from __future__ import annotations

import os

import pytest

from opsdash.redact import redact
from opsdash.sources.base import SourceError
from opsdash.sources.bearer_file import BearerFile

FIRST, SECOND = "sa-t0ken-first-0123456789abcdef", "sa-t0ken-second-0123456789abcdef"


def test_the_file_is_read_once_until_it_changes(tmp_path):
    path = tmp_path / "token"
    path.write_text(FIRST + "\n")
    file = BearerFile(path)
    assert file.token() == FIRST and file.token() == FIRST and file.reads == 1
    path.write_text(SECOND)
    assert file.token() == SECOND and file.reads == 2


def test_reload_reads_whatever_the_stat_says(tmp_path):
    path = tmp_path / "token"
    path.write_text("a-t0ken-0123456789")
    file = BearerFile(path)
    file.token()
    stamp = os.stat(path)
    path.write_text("b-t0ken-0123456789")  # same size, and the same mtime below
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert file.token() == "a-t0ken-0123456789"  # the stat cannot tell
    assert file.reload() and file.token() == "b-t0ken-0123456789"
    assert not file.reload()  # unchanged: no second retry


def test_every_token_read_is_redacted(tmp_path):
    path = tmp_path / "token"
    path.write_text(FIRST)
    file = BearerFile(path)
    file.token()
    path.write_text(SECOND)
    file.token()
    text = redact(f"server said: bad {FIRST} and {SECOND}")
    assert FIRST not in text and SECOND not in text


@pytest.mark.parametrize("content", ["", "\n", "two\nlines-0123456789"])
def test_a_file_without_one_token_is_one_line(tmp_path, content):
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(SourceError) as error:
        BearerFile(path).token()
    message = str(error.value)
    assert "\n" not in message and "lines-0123456789" not in message and str(path) in message


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(SourceError, match=r"cannot read token_file .*absent"):
        BearerFile(tmp_path / "absent").token()
