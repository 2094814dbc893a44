"""What can be checked of the deployment files without a container engine: hadolint on
the Dockerfile, kubernetes-validate on every manifest, the compose file and the
manifests checked for their security options, the lock against requirements.txt, and
the image's command started from the checkout to show it runs the README's app.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from src.build_extensions import extension_table
from tests.support.server import PROJECT_ROOT, free_port

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
COMPOSE = PROJECT_ROOT / "docker-compose.yml"
MANIFESTS = PROJECT_ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.31.0"
#: Kinds outside the core API, without a schema in kubernetes-validate; checked by hand below.
CUSTOM_KINDS = {"ServiceMonitor", "Kustomization"}
MAX_TIMEOUT_S = 30  # EXECUTOR_MAX_TIMEOUT_S's default
SEND_TIMEOUT_S = 15  # EXECUTOR_SEND_TIMEOUT_S's default


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path, document))
    return found


def by_kind(kind: str) -> dict[str, Any]:
    (document,) = [d for _, d in manifests() if d["kind"] == kind]
    return document


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            result.append((instruction.upper(), rest.strip()))
    return result


# --------------------------------------------------------------------------- Dockerfile


def test_hadolint_passes() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_pinned_to_an_exact_version() -> None:
    (arg,) = [
        rest
        for instruction, rest in dockerfile_instructions()
        if instruction == "ARG" and rest.startswith("PYTHON_IMAGE=")
    ]
    image = arg.partition("=")[2]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", image), image


def test_the_data_tier_is_in_the_image_only_when_asked() -> None:
    instructions = dockerfile_instructions()
    assert ("ARG", "DATA_TIER=0") in instructions
    runs = [rest for instruction, rest in instructions if instruction == "RUN" and "requirements-data.txt" in rest]
    assert runs == [
        'if [ "$DATA_TIER" = 1 ]; then /opt/venv/bin/pip install --no-deps -r /tmp/requirements-data.txt; fi'
    ]


def test_multi_stage_and_dependencies_from_the_hashed_lock() -> None:
    instructions = dockerfile_instructions()
    assert [rest for instruction, rest in instructions if instruction == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]
    runs = " ".join(rest for instruction, rest in instructions if instruction == "RUN")
    assert "--require-hashes -r /tmp/requirements.lock" in runs
    # The final stage installs no compiler, no headers, no build tools.
    final = instructions[[i for i, (inst, _) in enumerate(instructions) if inst == "FROM"][1] :]
    final_runs = " ".join(rest for instruction, rest in final if instruction == "RUN")
    for tool in ("gcc", "build-essential", "make", "-dev "):
        assert tool not in final_runs, tool


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for instruction, rest in dockerfile_instructions() if instruction == "USER"]
    assert users == ["10001:10001"]


def test_exposes_8030_with_a_healthcheck_that_needs_no_extra_package() -> None:
    instructions = dict(dockerfile_instructions())
    assert instructions["EXPOSE"] == "8030"
    assert "/health" in instructions["HEALTHCHECK"] and "urllib.request" in instructions["HEALTHCHECK"]
    assert "curl" not in instructions["HEALTHCHECK"] and "wget" not in instructions["HEALTHCHECK"]


def test_an_init_reaps_orphans() -> None:
    assert dict(dockerfile_instructions())["ENTRYPOINT"] == '["tini", "--"]'


def image_command() -> list[str]:
    command: list[str] = json.loads(dict(dockerfile_instructions())["CMD"])
    return command


def test_image_command_and_readme_run_command_start_the_same_app() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    match = re.search(r"python -m (\S+) --host (\S+) --port (\d+)", readme)
    assert match is not None
    command = image_command()
    assert command[:3] == ["python", "-m", match.group(1)]
    assert match.group(1) == "src"
    assert command[command.index("--port") + 1] == match.group(3) == "8030"


@pytest.mark.slow
def test_the_image_command_starts_the_service_from_the_checkout(tmp_path: Path) -> None:
    """The CMD, as written, run from the checkout (on a loopback port instead of 0.0.0.0:8030)."""
    command = image_command()
    port = free_port()
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    token_file = tmp_path / "token"
    token_file.write_text("image-command-token\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env.update({"EXECUTOR_API_TOKEN_FILE": str(token_file), "PYTHONDONTWRITEBYTECODE": "1"})
    binary = str(Path(sys.executable).with_name(command[0]))
    with subprocess.Popen([binary, *command[1:]], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) as process:  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    reply = httpx.post(
                        f"http://127.0.0.1:{port}/execute",
                        json={"code": "print(6 * 7)"},
                        headers={"X-Executor-Token": "image-command-token"},
                        timeout=10,
                    )
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the image command did not start"
                    time.sleep(0.2)
            assert reply.json()["stdout"] == "42\n"
            assert "server" not in reply.headers  # --no-server-header
        finally:
            process.terminate()
            process.wait(30)


def test_dockerignore_keeps_everything_but_the_build_inputs_out() -> None:
    lines = [
        line for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    inputs = ["!pyproject.toml", "!requirements-data.txt", "!requirements.lock", "!src/"]
    assert sorted(line for line in lines if line.startswith("!")) == inputs


def test_the_image_takes_every_extension_the_build_stage_compiles() -> None:
    """The runtime stage copies src/worker/_*.so: every extension must be named so."""
    assert "COPY --from=build /build/src/worker/_*.so /app/src/worker/" in DOCKERFILE.read_text()
    assert all(re.fullmatch(r"src\.worker\._\w+", entry["name"]) for entry in extension_table())


def test_lock_pins_every_requirement_with_hashes() -> None:
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    pinned = {
        m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==\S+ \\$", lock, re.MULTILINE)
    }
    wanted = set()
    for raw in (PROJECT_ROOT / "requirements.txt").read_text().splitlines():
        requirement = raw.split("#")[0].strip()
        if requirement:
            wanted.add(re.split(r"[\[<>=!~ ]", requirement)[0].lower().replace("_", "-"))
    assert wanted <= pinned, wanted - pinned
    for block in lock.split("\n\n"):
        if "==" in block:
            assert "--hash=sha256:" in block, block[:80]


# --------------------------------------------------------------------------- compose


def test_compose_runs_the_executor_hardened_with_a_secret_token() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    executor = compose["services"]["executor"]
    assert executor["read_only"] is True
    assert executor["cap_drop"] == ["ALL"]
    assert set(executor["security_opt"]) == {"no-new-privileges:true", "seccomp=./seccomp.json"}
    assert executor["init"] is True
    assert executor["secrets"] == ["executor_token"]
    assert executor["environment"]["EXECUTOR_API_TOKEN_FILE"] == "/run/secrets/executor_token"
    assert "EXECUTOR_API_TOKEN" not in executor["environment"]
    assert executor["environment"]["EXECUTOR_RATE_LIMIT_STORAGE_URI"].startswith("redis://redis:")
    assert compose["secrets"]["executor_token"] == {"file": "./executor_token"}
    assert all(port.startswith("127.0.0.1:") for port in executor["ports"])


def test_compose_has_redis_and_prometheus_scraping_the_executor() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"executor", "redis", "prometheus"} <= set(services)
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["executor:8030"]


# --------------------------------------------------------------------------- Kubernetes


@pytest.mark.parametrize(("path", "document"), manifests(), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_manifest_validates_against_the_kubernetes_api(path: Path, document: dict[str, Any]) -> None:
    if document["kind"] in CUSTOM_KINDS:
        pytest.skip(f"{document['kind']} is a custom resource; checked below")
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_kind_the_issue_asks_for_is_there() -> None:
    kinds = {document["kind"] for _, document in manifests()}
    assert kinds >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ServiceMonitor",
    }


def test_kustomization_lists_every_manifest() -> None:
    listed = set(by_kind("Kustomization")["resources"])
    assert listed == {path.name for path, d in manifests() if d["kind"] != "Kustomization"}


def test_deployment_is_hardened() -> None:
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["automountServiceAccountToken"] is False
    for forbidden in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(forbidden)
    assert not any("hostPath" in volume for volume in pod.get("volumes", []))


def test_deployment_takes_the_token_from_a_secret_file() -> None:
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert "EXECUTOR_API_TOKEN" not in env
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "token"]
    assert env["EXECUTOR_API_TOKEN_FILE"].startswith(mount["mountPath"] + "/")
    (volume,) = [v for v in pod["volumes"] if v["name"] == "token"]
    assert volume["secret"]["secretName"] == "executor-token"


def test_deployment_has_resources_probes_and_a_drain() -> None:
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert (
        container["livenessProbe"]["httpGet"]["path"] == "/livez"
    )  # not /health: a busy sandbox must not restart the pod
    assert "preStop" in container["lifecycle"]
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod["terminationGracePeriodSeconds"] > pause + MAX_TIMEOUT_S + SEND_TIMEOUT_S


def test_network_policy_denies_all_egress_but_redis_dns_and_the_other_executor_pods() -> None:
    policy = by_kind("NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    ports = sorted((port["port"], port["protocol"]) for rule in policy["egress"] for port in rule["ports"])
    assert ports == [(53, "TCP"), (53, "UDP"), (6379, "TCP"), (8030, "TCP")]
    # The HTTP port only toward the executor's own pods (a session held by another pod).
    (peers,) = [rule for rule in policy["egress"] if rule["ports"][0]["port"] == 8030]
    assert peers["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "executor"}}}]


def test_each_pod_tells_its_peers_its_own_address_for_sessions() -> None:
    (container,) = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["EXECUTOR_REPLICA_URL"]["value"] == "http://$(POD_IP):8030"
    assert env["EXECUTOR_RATE_LIMIT_STORAGE_URI"]["value"].startswith("redis://")
    # A secret of the pods' own, never a client's token.
    assert env["EXECUTOR_REPLICA_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "replica-secret"


def test_service_monitor_scrapes_metrics_of_the_service() -> None:
    monitor = by_kind("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = by_kind("Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}


def test_scaling_objects_point_at_the_deployment() -> None:
    deployment = by_kind("Deployment")
    assert by_kind("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert by_kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert by_kind("Service")["spec"]["selector"].items() <= labels.items()


def test_readme_run_command_matches_the_containers_options() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    flags = (
        "--read-only --tmpfs /tmp:size=256m --cap-drop ALL --security-opt no-new-privileges "
        "--security-opt seccomp=seccomp.json"
    )
    assert flags in readme


def test_every_read_only_deployment_gives_the_working_directories_a_size_limited_place() -> None:
    # Attack pass 93, F13: read-only roots with no writable temporary directory could not start.
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]["executor"]
    assert compose["environment"]["EXECUTOR_FILES_ROOT"] == "/tmp" and compose["tmpfs"] == ["/tmp:size=256m"]
    manifest = next(
        doc
        for doc in yaml.safe_load_all((PROJECT_ROOT / "deploy/kubernetes/deployment.yaml").read_text())
        if doc and doc.get("kind") == "Deployment"
    )
    pod = manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"name": "EXECUTOR_FILES_ROOT", "value": "/tmp"} in container["env"]
    assert {"name": "files", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "files", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}} in pod["volumes"]
