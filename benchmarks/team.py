"""Team scale (issue 16): several opsdash on one PostgreSQL and one engine.

`--instances` real opsdash processes (the TUI, each on its own pty, each in a
UTS namespace of its own with its own host name, so each is its own
`user@host`, as the laptops of a rotation are) watch one private dockerd with
`--containers` containers, every config's `[store] url` naming one private
PostgreSQL cluster. For `--minutes`:

- the first two instances redeploy from the keyboard on a schedule (filter,
  R, y), each its own targets, each redeploy to another image (the target's
  tag is moved first), so each is a real deployment that the runner records
  and the other watchers must not count again;
- outside opsdash, a container is replaced with another image on a schedule
  (docker rm -f + run), a deployment every watcher sees.

Then it reports: deployment events in the store against deploys made (and
whether any is there twice), the audit rows of every redeploy with its
instance's user@host, lock or store errors in the instances' --log files and
the PostgreSQL log, what the recorders wrote (poll_records: rows and bytes
per second) and the store's growth (pg_total_relation_size of every table,
before and after) per hour. It measures counts and bytes, not CPU.

    python -m benchmarks.team --instances 5 --minutes 10 --containers 200
    python -m benchmarks.team --minutes 1        # smoke: fewer instances' worth of time

Everything it starts (opsdash, the cluster, the engine) is stopped at the end,
also on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from devstack.docker_engine import BUSYBOX_IMAGE, PrivateDockerEngine
from devstack.postgres import PostgresServer
from tests.tui_process import TuiProcess, press_redeploy

ROOT = Path(__file__).resolve().parent.parent
OTHER_IMAGE = "local/team-other:1"  # busybox with a label: another image id, no healthcheck
TARGETS_PER_REDEPLOYER = 3
EXTERNAL_TARGETS = 5
ERROR_WORDS = re.compile(r"lock|deadlock|lease|store|could not|traceback|serializ", re.I)


def log(text: str) -> None:
    print(f"[team {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@dataclass
class Instance:
    number: int
    host: str
    data: Path
    tui: TuiProcess

    @property
    def log_file(self) -> Path:
        return self.data / "opsdash.log"


@dataclass
class Made:
    """What the benchmark did, to check the store against."""

    redeploys: list[tuple[str, str, str]] = field(default_factory=list)  # host, target, image id
    failed_redeploys: list[tuple[str, str, str]] = field(default_factory=list)  # host, target, why
    external: list[tuple[str, str]] = field(default_factory=list)  # container, image id


class TeamBench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="opsdash-team-"))
        self.engine = PrivateDockerEngine()
        self.pg = PostgresServer()
        self.instances: list[Instance] = []
        self.made = Made()
        self.url = ""

    # --- set-up ------------------------------------------------------------------

    def name(self, index: int) -> str:
        return f"team-{index:03d}"

    def start_stack(self) -> None:
        log("starting PostgreSQL and dockerd")
        self.pg.start()
        self.url = self.pg.new_database("team")
        self.engine.start()
        self.engine.ensure_images()
        seed = "team-seed"
        self.engine.cli(
            "run", "-d", "--name", seed, "--network", "none", BUSYBOX_IMAGE, "sleep", "1000"
        )
        self.engine.cli("commit", "--change", "LABEL opsdash.team=other", seed, OTHER_IMAGE)
        self.engine.cli("rm", "-f", seed)
        self.start_containers()

    def target_ref(self, name: str) -> str:
        return f"local/{name}:current"

    def start_containers(self) -> None:
        total = self.args.containers
        redeployed = 2 * TARGETS_PER_REDEPLOYER

        def start(index: int) -> None:
            name = self.name(index)
            image = BUSYBOX_IMAGE
            if index < redeployed:  # its own tag, moved to another image before each redeploy
                image = self.target_ref(name)
                self.engine.cli("tag", BUSYBOX_IMAGE, image)
            self.engine.cli(
                "run", "-d", "--name", name, "--network", "none", "--stop-timeout", "1",
                image, "sleep", "1000000",
            )  # fmt: skip

        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(start, range(total)))
        log(f"{total} containers running ({time.monotonic() - t0:.0f}s)")

    def start_instances(self) -> None:
        config = self.tmp / "config.toml"
        config.write_text(
            f'refresh = {self.args.refresh:g}\n[store]\nurl = "{self.url}"\n'
            f'[[docker]]\nname = "local"\nhost = "{self.engine.docker_host}"\npull = false\n'
        )
        for number in range(1, self.args.instances + 1):
            host = f"oncall-{number}"
            data = self.tmp / host
            data.mkdir()
            env = {
                "OPSDASH_DATA_DIR": str(data),
                "XDG_CONFIG_HOME": str(data / "xdg-config"),
                "XDG_DATA_HOME": str(data / "xdg-data"),
                "XDG_STATE_HOME": str(data / "xdg-state"),
                "DOCKER_CONFIG": str(data / "docker-config"),
                "PYTHONPATH": str(ROOT),
            }
            wrapper = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "-"]
            tui = TuiProcess(
                ["--config", str(config), "--log", str(data / "opsdash.log")], env, wrapper=wrapper
            )
            self.instances.append(Instance(number, host, data, tui))
        last = self.name(self.args.containers - 1)
        for instance in self.instances:
            instance.tui.wait_text(self.name(0), timeout=300)
            instance.tui.clear()
        log(f"{len(self.instances)} opsdash running ({last} is the last container)")

    # --- measuring -----------------------------------------------------------------

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql).fetchall()

    def sizes(self) -> dict[str, int]:
        rows = self.query("SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables")
        return {name: int(size) for name, size in rows}

    def recorded(self) -> tuple[int, int]:
        (row,) = self.query("SELECT count(*), coalesce(sum(size), 0) FROM poll_records")
        return int(row[0]), int(row[1])

    # --- the schedule --------------------------------------------------------------

    def redeploy(self, instance: Instance, name: str) -> None:
        """Move the target's tag to the other image, then R from the keyboard."""
        current = self.engine.cli("inspect", "-f", "{{.Image}}", name).stdout.strip()
        busybox = self.image_id(BUSYBOX_IMAGE)
        other = self.image_id(OTHER_IMAGE)
        new = other if current == busybox else busybox
        self.engine.cli("tag", new, self.target_ref(name))
        tui = instance.tui
        try:
            press_redeploy(tui, name)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if f"Redeploy {name}?" in tui.text[-4000:] or not self.audit_row(instance, name):
                    tui.keys("y")
                time.sleep(1)
                row = self.audit_row(instance, name)
                if row and row["result"] != "running":
                    break
            row = self.audit_row(instance, name)
            tui.keys("\x1b", "\x1b")
            tui.clear()
        except AssertionError as exc:
            self.made.failed_redeploys.append((instance.host, name, str(exc)[:200]))
            log(f"{instance.host}: redeploy {name} could not be started: {str(exc)[:200]}")
            return
        if row and row["result"] == "ok":
            self.made.redeploys.append((instance.host, name, new))
            log(f"{instance.host}: redeployed {name} to {new[7:19]}")
        else:
            why = row["result"] if row else "no audit row"
            self.made.failed_redeploys.append((instance.host, name, why))
            log(f"{instance.host}: redeploy {name}: {why}")

    def audit_row(self, instance: Instance, name: str) -> dict | None:
        """The newest audit row of a redeploy of `name` by `instance` begun in
        this benchmark after the last one counted."""
        done = sum(1 for h, t, _ in self.made.redeploys if (h, t) == (instance.host, name))
        done += sum(1 for h, t, _ in self.made.failed_redeploys if (h, t) == (instance.host, name))
        rows = self.query(
            "SELECT id, result FROM audit_log WHERE action = 'redeploy' AND target = "
            f"'{name}' AND actor LIKE '%@{instance.host}' ORDER BY id"
        )
        if len(rows) <= done:
            return None
        return {"id": rows[-1][0], "result": rows[-1][1]}

    def image_id(self, ref: str) -> str:
        return self.engine.cli("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()

    def replace_outside(self, index: int) -> None:
        name = self.name(2 * TARGETS_PER_REDEPLOYER + index % EXTERNAL_TARGETS)
        current = self.engine.cli("inspect", "-f", "{{.Image}}", name).stdout.strip()
        image = OTHER_IMAGE if current == self.image_id(BUSYBOX_IMAGE) else BUSYBOX_IMAGE
        self.engine.cli("rm", "-f", name)
        self.engine.cli(
            "run", "-d", "--name", name, "--network", "none", "--stop-timeout", "1",
            image, "sleep", "1000000",
        )  # fmt: skip
        self.made.external.append((name, self.image_id(image)))
        log(f"outside opsdash: {name} now runs {image}")

    def run_schedule(self) -> float:
        """Alternate: a redeploy from instance 1, a replacement outside, one from
        instance 2, ...; every `--every` seconds. The seconds it ran."""
        seconds = self.args.minutes * 60
        t0 = time.monotonic()
        step = 0
        redeployers = self.instances[:2]
        while time.monotonic() - t0 < seconds:
            started = time.monotonic()
            if step % 2 == 0:
                who = redeployers[(step // 2) % len(redeployers)]
                own = (step // 2) // len(redeployers) % TARGETS_PER_REDEPLOYER
                first = (who.number - 1) * TARGETS_PER_REDEPLOYER
                self.redeploy(who, self.name(first + own))
            else:
                self.replace_outside(step // 2)
            step += 1
            for instance in self.instances:  # the pty output is not kept for nothing
                instance.tui.clear()
                if instance.tui.proc.poll() is not None:
                    raise RuntimeError(f"{instance.host} exited ({instance.tui.proc.returncode})")
            rest = self.args.every - (time.monotonic() - started)
            left = seconds - (time.monotonic() - t0)
            time.sleep(max(0.0, min(rest, left)))
        return time.monotonic() - t0

    # --- the report ----------------------------------------------------------------

    def settle(self) -> None:
        """Every instance polls a few more times: the last deploy is seen by all
        (the redeployers' tables are filtered, so no marker to wait for)."""
        time.sleep(5 * self.args.refresh + 10)

    def deployments(self) -> list[tuple]:
        return self.query(
            "SELECT service, source, version, external_id FROM deployments ORDER BY id"
        )

    def audit(self) -> list[tuple]:
        return self.query("SELECT actor, action, target, result FROM audit_log ORDER BY id")

    def errors(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for instance in self.instances:
            text = instance.log_file.read_text() if instance.log_file.exists() else ""
            lines = [
                line
                for line in text.splitlines()
                if ERROR_WORDS.search(line) and " action " not in line
            ]
            found[instance.host] = lines
        pg_log = self.pg.log_file.read_text(errors="replace").splitlines()
        found["postgresql"] = [  # not the harness's pg_isready probe, which runs as root
            line
            for line in pg_log
            if re.search(r"ERROR|deadlock|FATAL", line) and 'role "root"' not in line
        ]
        return found

    def report(self, before: dict, after: dict, elapsed: float) -> dict:
        deployments = self.deployments()
        audit = self.audit()
        by_version: dict[tuple[str, str], int] = {}
        for service, _source, version, _ext in deployments:
            by_version[(service, version)] = by_version.get((service, version), 0) + 1
        external_ids = [e for *_, e in deployments if e]
        made = len(self.made.redeploys) + len(self.made.external)
        redeploy_rows = [a for a in audit if a[1] == "redeploy"]
        audited = []
        for host, target, _image in self.made.redeploys:
            audited.append(
                any(
                    a[0].endswith(f"@{host}") and a[2] == target and a[3] == "ok"
                    for a in redeploy_rows
                )
            )
        grown = sum(after["sizes"].values()) - sum(before["sizes"].values())
        rows = after["records"][0] - before["records"][0]
        data_bytes = after["records"][1] - before["records"][1]
        records_grown = after["sizes"].get("poll_records", 0) - before["sizes"].get(
            "poll_records", 0
        )
        return {
            "instances": self.args.instances,
            "containers": self.args.containers,
            "minutes": round(elapsed / 60, 2),
            "refresh_s": self.args.refresh,
            "deploys_made": made,
            "redeploys_ok": len(self.made.redeploys),
            "redeploys_failed": self.made.failed_redeploys,
            "external_replacements": len(self.made.external),
            "deployment_events": len(deployments),
            "events_by_source": _count(s for _, s, _, _ in deployments),
            "duplicates": {f"{k[0]} {k[1][:19]}": v for k, v in by_version.items() if v > 1},
            "external_ids_unique": len(external_ids) == len(set(external_ids)),
            "audit_rows": len(audit),
            "audit_complete": all(audited),
            "redeploys_audited": f"{sum(audited)} of {len(audited)}",
            "actors": sorted({a[0] for a in redeploy_rows}),
            "errors": self.errors(),
            "poll_records_rows": rows,
            "poll_records_rows_per_s": round(rows / elapsed, 2),
            "poll_records_data_bytes_per_s": round(data_bytes / elapsed),
            "poll_records_table_bytes_per_s": round(records_grown / elapsed),
            "store_bytes_before": sum(before["sizes"].values()),
            "store_bytes_after": sum(after["sizes"].values()),
            "store_growth_mib_per_hour": round(grown / elapsed * 3600 / 1024**2, 1),
            "growth_by_table_kib": {
                t: round((after["sizes"][t] - before["sizes"].get(t, 0)) / 1024)
                for t in sorted(after["sizes"])
                if after["sizes"][t] != before["sizes"].get(t, 0)
            },
        }

    # --- all of it ---------------------------------------------------------------------

    def run(self) -> dict:
        try:
            self.start_stack()
            self.start_instances()
            before = {"sizes": self.sizes(), "records": self.recorded()}
            log(f"measuring for {self.args.minutes} min")
            elapsed = self.run_schedule()
            after = {"sizes": self.sizes(), "records": self.recorded()}
            self.settle()
            return self.report(before, after, elapsed)
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        for instance in self.instances:
            with contextlib.suppress(Exception):
                instance.tui.close()
        with contextlib.suppress(Exception):
            self.pg.stop()
        with contextlib.suppress(Exception):
            self.engine.cleanup()
        shutil.rmtree(self.pg.base_dir, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        log("stopped every opsdash, the cluster and the engine")


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--refresh", type=float, default=2.0, help="each opsdash's refresh")
    parser.add_argument(
        "--every", type=float, default=30.0, help="seconds between scheduled deploys"
    )
    args = parser.parse_args(argv)
    if args.instances < 2:
        parser.error("--instances: at least 2 (two of them redeploy)")
    if args.containers < 2 * TARGETS_PER_REDEPLOYER + EXTERNAL_TARGETS:
        parser.error("--containers: at least 11")
    if shutil.which("unshare") is None:
        parser.error("needs util-linux's unshare (each opsdash gets its own host name)")
    result = TeamBench(args).run()
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    clean = (
        result["deployment_events"] == result["deploys_made"]
        and not result["duplicates"]
        and result["audit_complete"]
        and not any(result["errors"].values())
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
