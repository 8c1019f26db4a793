"""Smoke-check the debug image's root filesystem: every tool in it starts and works.

No container engine or registry is needed: each check runs inside the root filesystem
built by build_rootfs.sh (chroot, with /proc, /dev and /sys mounted in a private mount
namespace, so the mounts vanish with the check even if it is killed), and inside a fresh
network namespace when the tool reads or changes kernel network state.

Usage (as root): python3 debug-image/verify.py [--rootfs DIR] [--cost PACKAGE ...]
Exit status: 0 when every check passed, 1 when any failed, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES_FILE = HERE / "packages.txt"
SMOKE_CHECKS_FILE = HERE / "smoke-checks.txt"
DEFAULT_ROOTFS = HERE / "build" / "rootfs"
EXPECTED_PROMPT = r"[debug \h \w]\$ "
CHECK_TIMEOUT_S = 60
DETAIL_WIDTH = 58
CHROOT_ENV = (
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "TERM=dumb",
    "LANG=C.UTF-8",
)
# Runs as `sh -c ENTER enter ROOTFS COMMAND...` inside a private mount namespace.
# /run and /tmp are fresh tmpfs, as in a container, so the checks leave the tree unchanged.
ENTER = (
    'root=$1; shift; mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" '
    '&& mount -t sysfs sysfs "$root/sys" && mount -t tmpfs tmpfs "$root/run" '
    '&& mount -t tmpfs tmpfs "$root/tmp" && exec chroot "$root" "$@"'
)


@dataclass(frozen=True)
class SmokeCheck:
    """One line of smoke-checks.txt."""

    tool: str
    package: str
    command: tuple[str, ...]
    needs_netns: bool


@dataclass(frozen=True)
class Result:
    """The outcome of one check, as shown in the table."""

    tool: str
    package: str
    netns: bool
    passed: bool
    output: str


def read_packages(path: Path = PACKAGES_FILE) -> list[str]:
    """The package names in packages.txt, in order, without comments or blank lines."""
    packages = []
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            packages.append(name)
    return packages


def read_smoke_checks(path: Path = SMOKE_CHECKS_FILE) -> list[SmokeCheck]:
    """The checks in smoke-checks.txt; a malformed line raises ValueError naming it."""
    checks = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or fields[3] not in ("yes", "no") or not all(fields):
            raise ValueError(
                f"{path.name} line {number}: expected tool, package, command and "
                f"needs-netns (yes/no) separated by tabs, got {line!r}"
            )
        tool, package, command, netns = fields
        checks.append(SmokeCheck(tool, package, tuple(shlex.split(command)), netns == "yes"))
    return checks


def chroot_argv(rootfs: Path, command: Sequence[str], netns: str | None) -> list[str]:
    """The host command line that runs `command` inside `rootfs` (and `netns`)."""
    argv = ["unshare", "--mount", "--propagation", "private", "--"]
    argv += ["sh", "-c", ENTER, "enter", str(rootfs), "/usr/bin/env", "-i", *CHROOT_ENV]
    argv += command
    return ["ip", "netns", "exec", netns, *argv] if netns else argv


@contextlib.contextmanager
def network_namespace() -> Iterator[str]:
    """A new, uniquely named network namespace with lo up, deleted on exit."""
    name = f"retina-tui-verify-{os.getpid()}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def run_in_rootfs(
    rootfs: Path, command: Sequence[str], netns: str | None
) -> subprocess.CompletedProcess[str]:
    """Run one command inside the root filesystem, capturing its output."""
    try:
        return subprocess.run(
            chroot_argv(rootfs, command, netns),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=CHECK_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        return subprocess.CompletedProcess(exc.cmd, -1, out, f"timed out after {exc.timeout}s")


def first_line(*texts: str) -> str:
    """The first non-blank line of the given outputs, shortened for the table."""
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                line = " ".join(line.split())
                if len(line) > DETAIL_WIDTH:
                    return line[: DETAIL_WIDTH - 1] + "…"
                return line
    return ""


def run_check(rootfs: Path, check: SmokeCheck) -> tuple[Result, str]:
    """Run one smoke check; return its result and its full output."""
    if check.needs_netns:
        with network_namespace() as netns:
            proc = run_in_rootfs(rootfs, check.command, netns)
    else:
        proc = run_in_rootfs(rootfs, check.command, None)
    passed = proc.returncode == 0
    if passed:
        summary = first_line(proc.stdout, proc.stderr) or "(no output)"
    elif proc.returncode == -1:
        summary = f"timed out after {CHECK_TIMEOUT_S}s"
    else:
        summary = f"exit {proc.returncode}"
    full = f"$ {shlex.join(check.command)}\n{proc.stdout}{proc.stderr}"
    return Result(check.tool, check.package, check.needs_netns, passed, summary), full


def check_prompt(rootfs: Path) -> tuple[Result, str]:
    """The login shell shows the debug prompt."""
    command = ("bash", "-lic", 'printf "%s" "$PS1"')
    proc = run_in_rootfs(rootfs, command, None)
    passed = proc.returncode == 0 and proc.stdout == EXPECTED_PROMPT
    result = Result("(prompt)", "-", False, passed, proc.stdout or f"exit {proc.returncode}")
    return result, f"$ {shlex.join(command)}\n{proc.stdout}{proc.stderr}"


def tree_bytes(root: Path, paths: Iterator[Path] | None = None) -> tuple[int, int]:
    """Apparent size in bytes and number of files (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    if paths is None:
        paths = (Path(d) / f for d, _, files in os.walk(root) for f in files)
    for path in paths:
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if (st.st_dev, st.st_ino) in seen or not (path.is_file() or path.is_symlink()):
            continue
        seen.add((st.st_dev, st.st_ino))
        total += st.st_size
    return total, len(seen)


def disk_usage(rootfs: Path) -> int:
    """Bytes the tree takes on disk, as du counts them."""
    out = subprocess.run(
        ["du", "-s", "-x", "--block-size=1", str(rootfs)], capture_output=True, text=True
    )
    return int(out.stdout.split()[0]) if out.returncode == 0 else -1


def package_cost(rootfs: Path, package: str) -> tuple[int, list[str]]:
    """Bytes that removing `package` and what only it needs would free, and those packages."""
    proc = subprocess.run(
        [
            "chroot", str(rootfs), "apt-get", "-s", "-o", "Dir::Cache::pkgcache=",
            "-o", "Dir::Cache::srcpkgcache=", "-o", "Dir::Log::Planner=/dev/null",
            "purge", "--auto-remove", package,
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    removed = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("Purg ")]
    info = rootfs / "var" / "lib" / "dpkg" / "info"
    files: list[Path] = []
    for name in removed:
        for listing in (info / f"{name}.list", *info.glob(f"{name}:*.list")):
            if listing.exists():
                files += [rootfs / p.lstrip("/") for p in listing.read_text().splitlines()]
    size, _ = tree_bytes(rootfs, iter(files))
    return size, removed


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def print_table(results: Sequence[Result]) -> None:
    tool_w = max(len("TOOL"), *(len(r.tool) for r in results))
    pkg_w = max(len("PACKAGE"), *(len(r.package) for r in results))
    print(f"{'TOOL':<{tool_w}}  {'PACKAGE':<{pkg_w}}  NETNS  RESULT  OUTPUT")
    for r in results:
        netns = "yes" if r.netns else "no"
        verdict = "pass" if r.passed else "FAIL"
        print(f"{r.tool:<{tool_w}}  {r.package:<{pkg_w}}  {netns:<5}  {verdict:<6}  {r.output}")


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rootfs", type=Path, default=DEFAULT_ROOTFS)
    parser.add_argument(
        "--cost", action="append", metavar="PACKAGE", help="report what a package adds"
    )
    args = parser.parse_args(argv)
    rootfs: Path = args.rootfs.resolve()
    if os.geteuid() != 0:
        print("verify.py: the checks need root (chroot, netns); run as root.", file=sys.stderr)
        return 2
    if not (rootfs / "usr" / "bin").is_dir():
        print(f"verify.py: no root filesystem at {rootfs}; run build_rootfs.sh.", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)

    packages = read_packages()
    checks = read_smoke_checks()
    unchecked = sorted(set(packages) - {c.package for c in checks})
    if unchecked:
        print(f"verify.py: packages without a smoke check: {', '.join(unchecked)}", file=sys.stderr)
        return 2

    apparent, nfiles = tree_bytes(rootfs)
    print(f"root filesystem: {rootfs}")
    print(
        f"size: {megabytes(apparent)} in {nfiles} files "
        f"({megabytes(disk_usage(rootfs))} on disk, du -sx)"
    )
    for package in args.cost or [p for p in ("tshark",) if p in packages]:
        cost, removed = package_cost(rootfs, package)
        print(f"{package} adds {megabytes(cost)} in {len(removed)} packages: {' '.join(removed)}")
    print()

    outcomes = [run_check(rootfs, check) for check in checks]
    outcomes.append(check_prompt(rootfs))
    results = [result for result, _ in outcomes]
    print_table(results)
    failed = [(r, full) for r, full in outcomes if not r.passed]
    print(f"\n{len(results) - len(failed)}/{len(results)} checks passed")
    for result, full in failed:
        print(f"\n--- {result.tool} failed:\n{full.rstrip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
