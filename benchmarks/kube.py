"""Kubernetes at scale: 5,000 pods in 3 contexts, opsdash against kubectl.

    python benchmarks/kube.py [--pods 5000] [--contexts 3] [--cpu-seconds 60] [--json FILE]

Starts one API emulator per context (devstack.kube, TLS and a bearer token,
in this process), fills them with ready pods owned by Deployments, writes a
kubeconfig and an opsdash config with one [[kubernetes]] table per context,
and measures, each against a reference in the same run:

1. **Until every pod is there.** Three `KubernetesSource`s built and polled
   at once until they hold every pod, against three `kubectl get pods -A -o
   name` run at once (whole processes); and the TUI on a 160x48 pty, spawn
   until each context's pod count is drawn in the header, against three
   `kubectl get pods -A --watch -o name` on ptys until each has printed all
   of its pods.
2. **CPU over --cpu-seconds, settled**: the TUI against the three kubectl
   watches, both started before the window; then the same with churn
   (--churn pods deleted per second, which the controllers recreate: about
   three events each).
3. **Bytes per second** written to the terminal by the TUI, settled.
4. **Peak RSS** of the TUI against the three kubectl processes together.
5. **Requests**: the lists and watches each server saw from opsdash over the
   whole run; a watch that re-listed on every refresh would show here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.instruments import CpuWindow, PtyRun, log, median, tree  # noqa: E402
from devstack.kube import KubeApiServer, write_kubeconfig  # noqa: E402
from opsdash.sources.kubernetes import KubernetesConfig, KubernetesSource  # noqa: E402

PER_DEPLOYMENT = 50
NAMESPACES = ("shop", "payments", "ml")


def kubectl_binary() -> str | None:
    servers = Path(os.environ.get("OPSDASH_SERVERS_DIR", ROOT / ".servers"))
    for candidate in (
        os.environ.get("OPSDASH_KUBECTL"),
        str(servers / "kubectl" / "usr" / "bin" / "kubectl"),
        shutil.which("kubectl"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def split(total: int, parts: int) -> list[int]:
    """Different counts per context (1664, 1667, 1669 for 5,000 in 3), so each
    context's count in the header is its own marker."""
    base = total // parts
    counts = [base + (i - parts // 2) * 2 for i in range(parts)]
    counts[-1] += total - sum(counts)
    return counts


def populate(server: KubeApiServer, pods: int) -> None:
    index = 0
    while pods > 0:
        replicas = min(PER_DEPLOYMENT, pods)
        ns = NAMESPACES[index % len(NAMESPACES)]
        server.add_deployment(
            ns, f"svc-{index:03d}", f"acme/svc-{index:03d}:1", replicas, ready=True
        )
        pods -= replicas
        index += 1


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.dir = Path(tempfile.mkdtemp(prefix="opsdash-kube-bench-"))
        self.kubectl = kubectl_binary()
        self.counts = split(args.pods, args.contexts)
        self.servers: dict[str, KubeApiServer] = {}
        self.results: dict[str, Any] = {"pods": args.pods, "contexts": args.contexts}

    # --- setup ------------------------------------------------------------------

    def start(self) -> None:
        tls = self.dir / "tls"
        tls.mkdir()
        for i, count in enumerate(self.counts):
            name = f"ctx{i + 1}"
            server = KubeApiServer(
                token=f"bench-token-{i}-{random.randrange(10**9)}",
                ready_delay=0.2,
                bookmark_interval=60.0,
                watch_timeout=300.0,
                history=200_000,
                namespaces=("default", *NAMESPACES),
                tls_dir=tls,
            ).start()
            t0 = time.perf_counter()
            populate(server, count)
            log(f"{name}: {count} pods in {time.perf_counter() - t0:.1f}s")
            self.servers[name] = server
        self.kubeconfig = write_kubeconfig(self.dir / "kubeconfig", self.servers)
        tables = "\n".join(
            f'[[kubernetes]]\nname = "{n}"\ncontext = "{n}"\nkubeconfig = "{self.kubeconfig}"\n'
            for n in self.servers
        )
        self.config = self.dir / "config.toml"
        self.config.write_text(f"refresh = 2\n\n{tables}")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "DOCKER"))}
        env.update(
            HOME=str(self.dir),
            OPSDASH_DATA_DIR=str(self.dir / "data"),
            TERM="xterm-256color",
            COLUMNS="160",
            LINES="48",
        )
        return env

    def kubectl_argv(self, context: str, *args: str) -> list[str]:
        assert self.kubectl is not None
        return [
            self.kubectl,
            f"--kubeconfig={self.kubeconfig}",
            f"--context={context}",
            f"--cache-dir={self.dir / 'kube-cache'}",
            *args,
        ]

    def list_requests(self) -> dict[str, int]:
        """Lists begun (not pages) and watches opened by opsdash, on every server."""
        lists = watches = 0
        for server in self.servers.values():
            for seen in server.requests:
                if seen.method != "GET" or "opsdash" not in seen.user_agent.lower():
                    continue
                if seen.query.get("watch") in ("1", "true"):
                    watches += 1
                elif "continue" not in seen.query and seen.path.endswith(
                    ("/pods", "/deployments", "/statefulsets", "/daemonsets")
                ):
                    lists += 1  # a list's first page (the others carry `continue`)
        return {"lists": lists, "watches": watches}

    # --- 1. until every pod is there ---------------------------------------------

    def source_sync(self) -> float:
        sources = [
            KubernetesSource(
                KubernetesConfig(name=n, context=n, kubeconfig=str(self.kubeconfig), timeout=60),
                environ={},
            )
            for n in self.servers
        ]
        done: list[float] = []
        t0 = time.perf_counter()

        def one(source: KubernetesSource, want: int) -> None:
            while len(source.poll().pods) < want:
                time.sleep(0.02)
            done.append(time.perf_counter() - t0)

        threads = [
            threading.Thread(target=one, args=(s, c))
            for s, c in zip(sources, self.counts, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for s in sources:
            s.close()
        return max(done)

    def kubectl_list(self) -> float:
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                self.kubectl_argv(n, "get", "pods", "-A", "-o", "name"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n in self.servers
        ]
        for p in procs:
            p.wait(120)
        return time.perf_counter() - t0

    # --- 2-5. the TUI beside kubectl --watch ----------------------------------------

    def watchers(self) -> list[PtyRun]:
        return [
            PtyRun(self.kubectl_argv(n, "get", "pods", "-A", "--watch", "-o", "name"), self.env())
            for n in self.servers
        ]

    @staticmethod
    def lines(run: PtyRun) -> int:
        with run._cond:
            return bytes(run._output).count(b"\n")

    def until_all_printed(self, runs: list[PtyRun], timeout: float = 120) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.lines(r) >= c for r, c in zip(runs, self.counts, strict=True)):
                return time.perf_counter() - min(r.started for r in runs)
            time.sleep(0.05)
        return None

    def churn(self, stop: threading.Event, per_second: float) -> None:
        """Delete pods at `per_second`; their ReplicaSets make new ones."""
        servers = list(self.servers.values())
        names: list[list[tuple[str, str]]] = [[] for _ in servers]
        i = 0
        while not stop.wait(1.0 / per_second):
            k = i % len(servers)
            if not names[k]:
                names[k] = [
                    (p["metadata"]["namespace"], p["metadata"]["name"]) for p in servers[k].pods()
                ]
                random.shuffle(names[k])
            servers[k].store.delete("pods", *names[k].pop())
            i += 1

    def cpu(self, opsdash: PtyRun, kubectls: list[PtyRun], seconds: float) -> dict[str, float]:
        ours = CpuWindow(lambda: tree(opsdash.proc.pid))
        theirs = CpuWindow(lambda: [p for r in kubectls for p in tree(r.proc.pid)])
        ours.start()
        theirs.start()
        time.sleep(seconds)
        return {
            "opsdash": ours.stop()["percent_of_core"],
            "kubectl": theirs.stop()["percent_of_core"],
        }

    def tui(self) -> dict[str, Any]:
        markers = tuple(f"{c} pods".encode() for c in self.counts)
        argv = [sys.executable, "-m", "opsdash", "--config", str(self.config)]
        kubectls = self.watchers()
        kubectl_all = self.until_all_printed(kubectls)
        opsdash = PtyRun(argv, self.env(), markers=markers)
        shown = [opsdash.wait_for(m, 120) for m in markers]
        result: dict[str, Any] = {
            "opsdash_all_shown_s": max(shown) if all(s is not None for s in shown) else None,
            "kubectl_watch_all_printed_s": kubectl_all,
        }
        try:
            time.sleep(5)
            result["settled_cpu"] = self.cpu(opsdash, kubectls, self.args.cpu_seconds)
            result["settled_bytes_per_s"] = opsdash.bytes_over(self.args.idle_seconds)
            stop = threading.Event()
            churner = threading.Thread(target=self.churn, args=(stop, self.args.churn))
            churner.start()
            try:
                result["churn_cpu"] = self.cpu(opsdash, kubectls, self.args.cpu_seconds)
            finally:
                stop.set()
                churner.join()
            result["opsdash_peak_rss_mb"] = opsdash.peak_rss_bytes() / 2**20
            result["kubectl_peak_rss_mb"] = sum(r.peak_rss_bytes() for r in kubectls) / 2**20
            result["opsdash_crashed"] = opsdash.crashed()
        finally:
            opsdash.stop()
            for r in kubectls:
                r.stop()
        return result

    def run(self) -> dict[str, Any]:
        self.start()
        if self.kubectl is None:
            raise SystemExit("kubectl not found: run scripts/test once (it unpacks Debian's)")
        self.results["source_sync_s"] = median(self.source_sync() for _ in range(3))
        self.results["kubectl_list_s"] = median(self.kubectl_list() for _ in range(3))
        before = self.list_requests()
        self.results.update(self.tui())
        after = self.list_requests()
        self.results["tui_requests"] = {k: after[k] - before[k] for k in after}
        self.results["machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
        return self.results

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--contexts", type=int, default=3)
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--churn", type=float, default=5.0, help="pods deleted per second")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    bench = Bench(args)
    try:
        results = bench.run()
    finally:
        bench.close()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
