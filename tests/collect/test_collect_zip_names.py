"""Zips whose entry names are UTF-8 without the UTF-8 flag, as Info-ZIP's ``zip`` writes them.

Python's zipfile always sets the flag (bit 11) for a name that is not ASCII, so each archive here
is written with ASCII stand-ins of the same byte length, whose bytes are then swapped for the
real name's in the local header and in the central directory alike: the flag stays clear.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from autograder.course import submission_info
from autograder.collect import collect
from autograder.collect.archives import LIMITS, harvest_zip
from test_collect import notebook, pairs


def legacy_zip(path: Path, files: dict[bytes, bytes]) -> Path:
    """A zip of ``files`` (raw name bytes -> data) whose names carry no UTF-8 flag."""
    stand_ins = {name: "ABCDEFGH"[index].encode() * len(name) for index, name in enumerate(files)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(stand_ins[name].decode(), data)
    raw = path.read_bytes()
    for name, stand_in in stand_ins.items():
        assert raw.count(stand_in) == 2  # the local header and the central directory, nothing else
        raw = raw.replace(stand_in, name)
    path.write_bytes(raw)
    with zipfile.ZipFile(path) as zf:
        assert not any(info.flag_bits & 0x800 for info in zf.infolist())
    return path


def test_an_unflagged_utf8_moodle_folder_matches_its_roster_name(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name,email\ns1,Ann Smith,ann@uni.edu\ns7,José Müller,jose@uni.edu\n", encoding="utf-8")
    folder = "José Müller_1002_assignsubmission_file_"
    lms = legacy_zip(tmp_path / "moodle.zip", {
        f"{folder}/ch02.ipynb".encode(): notebook("ch02", "josé"),
        b"Ann Smith_1001_assignsubmission_file_/ch02.ipynb": notebook("ch02", "ann"),
    })
    got = collect(lms, tmp_path / "course", roster=roster)
    assert pairs(got) == [("s1", "ch02"), ("s7", "ch02")] and not got.unmatched and not got.needs_attention
    assert submission_info.read(tmp_path / "course", "s7", "ch02").export_file == f"{folder}/ch02.ipynb"


def test_an_unflagged_utf8_canvas_name_without_a_roster_keeps_its_letters(tmp_path):
    lms = legacy_zip(tmp_path / "canvas.zip", {
        "müllerjosé_22222_900001_ch02.ipynb".encode(): notebook("ch02", "josé"),
    })
    assert pairs(collect(lms, tmp_path / "course")) == [("müllerjosé_22222", "ch02")]


def test_a_cp437_name_that_is_not_utf8_is_read_as_cp437(tmp_path):
    # 0x81 is cp437's "ü" and on its own never valid UTF-8: an old Windows archiver's name.
    lms = legacy_zip(tmp_path / "old.zip", {b"Gr\x81n_1003_assignsubmission_file_/ch02.ipynb": notebook("ch02")})
    assert pairs(collect(lms, tmp_path / "course")) == [("Grün_1003", "ch02")]


def test_every_later_use_reads_the_corrected_name(tmp_path):
    # A slip attempt spelt in unflagged UTF-8 is refused under its real name; a skipped file is listed by it.
    lms = legacy_zip(tmp_path / "mixed.zip", {
        "../José_1_assignsubmission_file_/ch02.ipynb".encode(): notebook("ch02"),
        "José Müller_1002_assignsubmission_file_/notes.pdf".encode(): b"%PDF",
    })
    harvest = harvest_zip(lms, tmp_path / "staging", LIMITS)
    assert [name for name, _ in harvest.refused] == ["../José_1_assignsubmission_file_/ch02.ipynb"]
    assert harvest.skipped == ["José Müller_1002_assignsubmission_file_/notes.pdf"] and harvest.found == []
