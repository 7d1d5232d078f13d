"""innode/mesos_daemons.py: the master's and agents' flags, and the in-node entry point."""

from __future__ import annotations

import json
from typing import Any

import pytest

from innode import mesos_daemons as mesos
from innode.mesos_daemons import MesosLayout

LAYOUT = MesosLayout(
    cluster="toil-lab",
    hostname="worker-2",
    ip="172.20.0.4",
    cpus=2,
    memory_mb=3072,
    launcher_dir="/usr/libexec/mesos",
)


def flag_map(flags: list[str]) -> dict[str, str]:
    pairs = [flag.removeprefix("--").split("=", 1) for flag in flags]
    return {pair[0]: pair[1] if len(pair) == 2 else "" for pair in pairs}


def test_master_flags() -> None:
    flags = flag_map(mesos.master_flags(LAYOUT))
    # It listens on the leader's loopback too (Toil's tests use localhost:5050), and
    # tells everyone the container's address.
    assert flags["ip"] == "0.0.0.0"
    assert flags["advertise_ip"] == "172.20.0.4"
    assert flags["port"] == "5050"
    assert flags["hostname"] == "leader"
    assert flags["registry"] == "in_memory"
    assert flags["work_dir"] == "/var/lib/lab/mesos/master"
    assert flags["allocation_interval"] == "500ms"
    assert flags["cluster"] == "toil-lab"
    assert "no-hostname_lookup" in flags


def test_agent_flags_for_a_worker() -> None:
    flags = flag_map(mesos.agent_flags(LAYOUT))
    assert flags["master"] == "leader:5050"
    assert flags["ip"] == flags["advertise_ip"] == "172.20.0.4"
    assert flags["hostname"] == "worker-2"
    assert flags["work_dir"] == "/var/lib/lab/mesos/agent"
    assert flags["launcher"] == "posix"
    assert flags["launcher_dir"] == "/usr/libexec/mesos"
    assert flags["resources"] == "cpus:2;mem:2944"
    assert flags["attributes"] == "preemptible:False"
    assert flags["registration_backoff_factor"] == "100ms"
    for boolean in ("no-systemd_enable_support", "no-hostname_lookup"):
        assert boolean in flags
    environment = json.loads(flags["executor_environment_variables"])
    # Toil's executor is the bare command _toil_mesos_executor, in /usr/local/bin.
    assert "/usr/local/bin" in environment["PATH"].split(":")


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_every_agent_of_n_workers_has_its_own_name_address_and_work_dir(workers: int) -> None:
    layouts = [
        MesosLayout("lab", f"worker-{i}", f"172.20.0.{i + 2}", 2, 1024, "/opt/mesos/libexec/mesos")
        for i in range(1, workers + 1)
    ]
    seen = [flag_map(mesos.agent_flags(layout)) for layout in layouts]
    assert len({f["hostname"] for f in seen}) == workers
    assert len({f["ip"] for f in seen}) == workers
    # The same path, but on each worker's own volume (compose.yaml): never shared.
    assert {f["work_dir"] for f in seen} == {"/var/lib/lab/mesos/agent"}
    assert {f["master"] for f in seen} == {"leader:5050"}


def test_an_agent_offers_slots_per_cpu_cores_for_each_cpu() -> None:
    # Toil asks at least one core per job: 4 slots per CPU let a 2-CPU agent take 8 jobs.
    layout = MesosLayout("lab", "worker-1", "10.0.0.2", 2, 3072, "/x", slots_per_cpu=4)
    assert mesos.agent_resources(layout) == "cpus:8;mem:2944"


def test_small_workers_keep_a_floor_of_memory() -> None:
    small = MesosLayout("lab", "worker-1", "10.0.0.2", 1, 200, "/x")
    assert mesos.agent_resources(small) == "cpus:1;mem:128"


def test_daemon_environment_advertises_the_container_address() -> None:
    assert mesos.daemon_environment("10.1.2.3") == {
        "LIBPROCESS_IP": "10.1.2.3",
        "LIBPROCESS_ADVERTISE_IP": "10.1.2.3",
    }


def test_operator_calls() -> None:
    assert mesos.deactivate_call("A-S1") == {
        "type": "DEACTIVATE_AGENT",
        "deactivate_agent": {"agent_id": {"value": "A-S1"}},
    }
    assert mesos.reactivate_call("A-S1") == {
        "type": "REACTIVATE_AGENT",
        "reactivate_agent": {"agent_id": {"value": "A-S1"}},
    }


def test_flags_entry_point_prints_one_flag_per_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mesos, "own_ip", lambda: "10.9.8.7")
    monkeypatch.setattr(mesos.socket, "gethostname", lambda: "worker-5")
    monkeypatch.setenv("LAB_NAME", "lab-x")
    monkeypatch.setenv("LAB_WORKER_CPUS", "4")
    monkeypatch.setenv("LAB_WORKER_MEMORY_MB", "2048")
    monkeypatch.setenv("LAB_SLOTS_PER_CPU", "2")
    monkeypatch.setenv("LAB_MESOS_LAUNCHER_DIR", "/opt/mesos/libexec/mesos")
    assert mesos.main(["flags", "worker"]) == 0
    lines = capsys.readouterr().out.splitlines()
    flags = flag_map(lines)
    assert flags["resources"] == "cpus:8;mem:1920"
    assert flags["hostname"] == "worker-5"
    assert flags["ip"] == "10.9.8.7"
    assert flags["launcher_dir"] == "/opt/mesos/libexec/mesos"
    # One argument per line: the JSON value holds no newline.
    assert all(line.startswith("--") for line in lines)


def test_entry_point_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert mesos.main(["flags", "observer"]) == 2
    assert "usage:" in capsys.readouterr().err


def test_start_becomes_the_daemon_with_its_flags_and_libprocess_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        seen.update(path=path, argv=argv, env=env)
        raise SystemExit(0)  # execve does not return

    monkeypatch.setattr(mesos, "own_ip", lambda: "10.9.8.7")
    monkeypatch.setattr(mesos.os, "execve", execve)
    env = {"LAB_NAME": "lab-x", "LAB_MESOS_MASTER": "/opt/mesos/sbin/mesos-master", "PATH": "/usr/bin"}
    with pytest.raises(SystemExit):
        mesos.start("leader", env)
    assert seen["path"] == "/opt/mesos/sbin/mesos-master"
    flags = mesos.master_flags(mesos.MesosLayout.from_env(env))
    assert seen["argv"] == ["/opt/mesos/sbin/mesos-master", *flags]
    assert "--advertise_ip=10.9.8.7" in seen["argv"]
    assert seen["env"] == {**env, "LIBPROCESS_IP": "10.9.8.7", "LIBPROCESS_ADVERTISE_IP": "10.9.8.7"}


def test_start_without_the_mesos_images_env_file_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mesos, "own_ip", lambda: "10.9.8.7")
    monkeypatch.delenv("LAB_MESOS_AGENT", raising=False)
    monkeypatch.setenv("LAB_NAME", "lab-x")
    assert mesos.main(["start", "worker"]) == 2
    assert "LAB_MESOS_AGENT is not set: this image has no Mesos" in capsys.readouterr().err


def test_state_argv_asks_the_master_with_bash_alone() -> None:
    argv = mesos.state_argv()
    assert argv[:4] == ["timeout", "5", "bash", "-c"]
    assert argv[5:] == ["mesos-http-get", "leader", "5050", "/master/state"]
    assert f"{argv[6]}:{argv[7]}" == mesos.ENDPOINT


def test_state_argv_fetches_a_real_http_answer() -> None:
    import http.server
    import subprocess
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"path": self.path, "host": self.headers["Host"]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        argv = mesos.state_argv("/master/state?x=1")
        argv[6:8] = ["127.0.0.1", str(server.server_port)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True)
    assert json.loads(mesos.http_body(result.stdout)) == {"path": "/master/state?x=1", "host": "127.0.0.1"}


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        ("HTTP/1.1 503 Service Unavailable\r\n\r\nnot yet", "'HTTP/1.1 503 Service Unavailable'"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5", "'HTTP/1.1 200 OK'"),  # the answer was cut short
        ("", "''"),
        ("garbage\r\n\r\n{}", "'garbage'"),
    ],
)
def test_http_body_takes_a_200_answer_only(response: str, problem: str) -> None:
    assert mesos.http_body('HTTP/1.0 200 OK\r\nA: b\r\n\r\n{"x": "\n\n"}') == '{"x": "\n\n"}'
    assert mesos.http_body('HTTP/1.1 200 OK\nA: b\n\n{"x": 1}') == '{"x": 1}'  # its CRs read away
    with pytest.raises(ValueError, match=f"the master answered {problem.replace('.', '[.]')}"):
        mesos.http_body(response)
