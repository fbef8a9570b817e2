"""The local spool of a shared store: order, bytes, bounds, kept across a reopen."""

from __future__ import annotations

from opsdash.store.spool import Spool, spool_path


def test_rows_come_back_in_order_with_their_bytes_and_survive_a_reopen(tmp_path):
    spool = Spool(tmp_path / "s.db")
    assert spool.add("INSERT A", [1, "x", None, b"\x00\xff"])
    assert spool.add("INSERT B", [2.5])
    spool.close()
    again = Spool(tmp_path / "s.db")
    rows = again.oldest()
    assert [(r.sql, r.params) for r in rows] == [
        ("INSERT A", [1, "x", None, b"\x00\xff"]),
        ("INSERT B", [2.5]),
    ]
    assert len({r.key for r in rows}) == 2 and again.count == 2
    again.done(rows[0].id)
    assert again.count == 1 and [r.sql for r in again.oldest()] == ["INSERT B"]
    again.close()


def test_a_full_spool_refuses_new_rows_and_keeps_the_queued_ones(tmp_path):
    spool = Spool(tmp_path / "s.db", max_rows=2, max_bytes=10_000)
    assert spool.add("A", []) and spool.add("B", [])
    assert not spool.add("C", []) and spool.dropped == 1
    assert [r.sql for r in spool.oldest()] == ["A", "B"]
    big = Spool(tmp_path / "b.db", max_bytes=100)
    assert not big.add("X", [b"y" * 200]) and big.count == 0
    spool.close()
    big.close()


def test_each_database_has_its_own_spool_file():
    a = spool_path("postgresql://opsdash@db:5432/a")
    assert a != spool_path("postgresql://opsdash@db:5432/b")
    assert a.name.startswith("store-spool-") and a.parent.name == "opsdash"
