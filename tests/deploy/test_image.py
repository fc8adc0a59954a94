"""Each installed service's image, built here and booted for real (slow, bounded).

The images are built exactly as the Dockerfile says, from the wheelhouse, with no network, on a
Debian base made here with debootstrap (no registry can be reached). Each container then runs as
the chart runs it: read-only root filesystem, every capability dropped, no privilege escalation,
the image's own user; `--network host` lets it reach PostgreSQL and the development broker on
loopback. It must migrate, serve /healthz and /readyz, run as a non-root uid and stop cleanly on
SIGTERM within the chart's grace period.

Docker cannot run without root here: then, and only then, the test is skipped, loudly (in CI,
CI=true, it fails instead).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tandem_kernel.devbroker import DevBroker, free_port
from tandem_kernel.metrics import RELAY_LAG_SECONDS
from tandem_kernel.testing import fresh_database

from ops.chart import CHART
from ops.engine import DockerEngine, EngineUnavailable
from ops.image import build_image, debian_base, installed_services, wheelhouse

pytestmark = pytest.mark.slow

SERVICES = installed_services()
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())["serviceDefaults"]
# What the kubelet allows after SIGTERM: the grace period less the preStop sleep before it.
STOP_BUDGET = DEFAULTS["terminationGracePeriodSeconds"] - DEFAULTS["preStopSleepSeconds"]


@pytest.fixture(scope="module")
def engine() -> Iterator[DockerEngine]:
    engine = DockerEngine()
    try:
        engine.start()
    except EngineUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build and boot the images, but Docker cannot run: {error}")
        pytest.skip(f"!!! DOCKER CANNOT RUN HERE: THE IMAGES WERE NOT BUILT NOR BOOTED !!! ({error})")
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def images(engine: DockerEngine) -> dict[str, str]:
    """Each installed service's image, built (layers cached in the engine's data root)."""
    wheelhouse()
    base = debian_base(engine)
    return {service: build_image(engine, service, base) for service in SERVICES}


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for(url: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, body = get(url)
            if status == 200:
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout}s")
        time.sleep(0.25)


def user_ids(pid: int) -> set[int]:
    """The real, effective, saved and filesystem uids of a process, as the host's kernel sees them."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {int(uid) for uid in next(line for line in status if line.startswith("Uid:")).split()[1:]}


def test_the_images_leave_out_installers_and_compilers(engine: DockerEngine, images: dict[str, str]) -> None:
    probe = (
        "import importlib.util as u, shutil; "
        "print([t for t in ('pip', 'pip3', 'gcc', 'cc', 'make') if shutil.which(t)]"
        " + [m for m in ('pip', 'setuptools') if u.find_spec(m)])"
    )
    for image in images.values():
        found = engine.docker("run", "--rm", "--network=none", "--entrypoint=python", image, "-c", probe)
        assert found.stdout.strip() == "[]", f"{image}: {found.stdout}"
        user = engine.docker("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()
        assert user == "10001:10001"


@pytest.mark.parametrize("service", SERVICES)
async def test_the_service_migrates_serves_and_stops_on_sigterm_as_its_pod_would(
    service: str, engine: DockerEngine, images: dict[str, str], broker: DevBroker
) -> None:
    port = free_port()
    async with fresh_database() as database_url:
        settings = {
            "ENVIRONMENT": "test",  # production wants real secrets and an idempotent producer (Tansu has none)
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "HTTP_PORT": str(port),
        }
        hardened = ["--network=host", "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges"]
        environment = [f"--env={key}={value}" for key, value in settings.items()]

        # the migration Job's command: the service from SERVICE_NAME, which the image sets
        migrated = engine.docker("run", "--rm", *hardened, *environment, images[service], "migrate")
        assert f"{service}: applied" in migrated.stdout

        name = f"tandem-test-{service}-{uuid.uuid4().hex[:8]}"
        engine.docker("run", "--detach", f"--name={name}", *hardened, *environment, images[service])
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz", timeout=60)
            readiness = json.loads(wait_for(f"{base}/readyz", timeout=60))
            assert readiness["ready"] is True and readiness["problems"] == [], readiness
            assert {"postgres", "broker", "relay", "topic"} <= set(readiness["checks"]), readiness
            assert all(readiness["checks"].values()), readiness
            metrics = get(f"{base}/metrics")[1].decode()
            assert f"# TYPE {RELAY_LAG_SECONDS._name} gauge" in metrics

            pid = engine.docker("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
            assert user_ids(int(pid)) == {10001}

            healthcheck = json.loads(
                engine.docker("inspect", "--format", "{{json .Config.Healthcheck.Test}}", name).stdout
            )
            assert healthcheck[0] == "CMD"
            engine.docker("exec", name, *healthcheck[1:])  # the image's HEALTHCHECK passes

            started = time.monotonic()
            engine.docker("stop", f"--time={STOP_BUDGET}", name, timeout=STOP_BUDGET + 30)
            stopped_in = time.monotonic() - started
            state = json.loads(engine.docker("inspect", "--format", "{{json .State}}", name).stdout)
            logs = engine.docker("logs", name).stderr
            assert state["ExitCode"] == 0 and not state["OOMKilled"], logs[-3000:]
            assert stopped_in < STOP_BUDGET, f"took {stopped_in:.1f}s of {STOP_BUDGET}s"
            assert f'"message": "{service} stopped"' in logs
        finally:
            engine.docker("rm", "--force", "--volumes", name, check=False)
