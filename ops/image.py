"""Build Tandem's service images the way a release pipeline does, offline once the wheels are built.

    python -m ops.image wheelhouse                   # build/wheelhouse: every pinned wheel
    python -m ops.image build [SERVICE ...]          # tandem-<service>:dev on a local Debian base
    python -m ops.image build --base python:3.11-slim-bookworm   # the default base, from a registry

Three slow inputs are cached under build/ (git-ignored), each keyed by what it is made from, so a
second run only rebuilds what changed:

- the wheelhouse: `pip wheel` of the pinned constraints on the host (keyed by constraints.txt and
  every pyproject.toml); Tandem's own wheels are rebuilt every time, byte for byte the same when
  their sources are (SOURCE_DATE_EPOCH), so the image layers stay cached;
- the Debian base: `debootstrap --variant=minbase` with Python 3.11, from the mirror apt is
  configured with, imported with `docker import` (no registry needed);
- the images themselves, in the engine's data root (ops/engine.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ops.engine import REPO, DockerEngine

__all__ = ["DEBIAN_SUITE", "build_image", "debian_base", "installed_services", "wheelhouse"]

WHEELHOUSE = REPO / "build" / "wheelhouse"
BASES = REPO / "build" / "base"
DEBIAN_SUITE = "bookworm"  # Python 3.11, like the services
# What the image needs from Debian: Python with venv (for the build stage), the CA certificates
# (TLS to Kafka and the OpenID provider), and useradd (in minbase already).
DEBIAN_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Any fixed time will do: zip files cannot hold times before 1980.
SOURCE_DATE_EPOCH = "315532800"


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(hashlib.sha256(part).digest())
    return hasher.hexdigest()[:16]


def _packages() -> list[Path]:
    return [REPO / "shared", *sorted(path.parent for path in REPO.glob("services/*/pyproject.toml"))]


def installed_services() -> list[str]:
    """The services installed in this virtualenv (entry points in group `tandem.services`)."""
    from tandem_kernel.cli import installed

    return sorted(installed())


def wheelhouse(python: str = sys.executable) -> Path:
    """Every wheel the images install, under build/wheelhouse (also the docker build context's)."""
    key = _digest(
        (REPO / "constraints.txt").read_bytes(), *((package / "pyproject.toml").read_bytes() for package in _packages())
    )
    stamp = WHEELHOUSE / ".key"
    current = stamp.exists() and stamp.read_text() == key
    if not current:
        shutil.rmtree(WHEELHOUSE, ignore_errors=True)
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tandem-wheels-") as scratch:
        # Build from clean copies: setuptools would otherwise ship stale files from an old build/.
        sources = []
        for package in _packages():
            copy = Path(scratch) / package.name
            shutil.copytree(package, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
            sources.append(str(copy))
        dependencies = [] if current else ["--constraint", str(REPO / "constraints.txt")]
        subprocess.run(
            [python, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(WHEELHOUSE)]
            + (["--no-deps"] if current else dependencies)
            + sources,
            check=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        )
    stamp.write_text(key)
    return WHEELHOUSE


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt uses here (the only place this machine may fetch Debian packages from)."""
    files = [sources / "sources.list", *sorted(sources.glob("sources.list.d/*"))]
    texts = [path.read_text() for path in files if path.is_file()]
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):  # deb822 .sources files
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.+)$", stanza, flags=re.MULTILINE))
            if DEBIAN_SUITE in fields.get("Suites", "").split() and "main" in fields.get("Components", "").split():
                return str(fields["URIs"].split()[0])
        for line in text.splitlines():  # one-line format
            words = re.sub(r"\[.*?\]", "", line).split()
            if words[:1] == ["deb"] and len(words) >= 4 and words[2] == DEBIAN_SUITE and "main" in words[3:]:
                return words[1]
    raise RuntimeError(f"apt has no source for Debian {DEBIAN_SUITE} main: cannot debootstrap a base image")


def debian_base(engine: DockerEngine) -> str:
    """A minimal Debian image with Python 3.11, made here with debootstrap (cached), as a local tag."""
    key = _digest(DEBIAN_SUITE.encode(), " ".join(DEBIAN_PACKAGES).encode(), b"minbase, no apt caches")
    tag = f"tandem-base:{DEBIAN_SUITE}-{key}"
    if engine.docker("image", "inspect", tag, check=False).returncode == 0:
        return tag
    BASES.mkdir(parents=True, exist_ok=True)
    archive = BASES / f"{DEBIAN_SUITE}-{key}.tar"
    if not archive.exists():
        if shutil.which("debootstrap") is None:
            raise RuntimeError("debootstrap is missing: run `make deploy-tools`")
        rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=BASES))
        try:
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(DEBIAN_PACKAGES)}",
                    DEBIAN_SUITE,
                    str(rootfs),
                    debian_mirror(),
                ],
                check=True,
                capture_output=True,
            )
            for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for entry in (rootfs / cache).glob("*"):
                    if entry.is_file():
                        entry.unlink()
            partial = archive.with_suffix(".partial")
            subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
            partial.rename(archive)
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    with open(archive, "rb") as tarball:
        subprocess.run(
            ["docker", "import", "-", tag], stdin=tarball, env=engine.environment, check=True, capture_output=True
        )
    return tag


def image_tag(service: str, version: str = "dev") -> str:
    return f"tandem-{service}:{version}"


def build_image(engine: DockerEngine, service: str, base: str, version: str = "dev") -> str:
    """`docker build` the service's image on `base`, with no network (the wheelhouse must be built)."""
    tag = image_tag(service, version)
    engine.docker(
        "build",
        "--network=none",
        f"--build-arg=BASE_IMAGE={base}",
        f"--build-arg=SERVICE={service}",
        f"--tag={tag}",
        str(REPO),
    )
    return tag


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.image", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("wheelhouse", help="build/wheelhouse from the pinned constraints")
    build = commands.add_parser("build", help="build the services' images")
    build.add_argument("services", nargs="*", help="default: every installed service")
    build.add_argument("--base", default="debian", help="'debian' (made here with debootstrap) or an image reference")
    build.add_argument("--version", default="dev", help="the images' tag")
    args = parser.parse_args(argv)

    print(f"wheelhouse: {wheelhouse()}")
    if args.command == "build":
        with DockerEngine() as engine:
            base = debian_base(engine) if args.base == "debian" else args.base
            for service in args.services or installed_services():
                print(f"built {build_image(engine, service, base, args.version)} on {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
