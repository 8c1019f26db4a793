"""The debug image's docs, package list and smoke checks must agree.

docs/debug-image.md promises tools; debug-image/packages.txt installs them; and
debug-image/smoke-checks.txt is what `nox -s image` runs to prove each one starts.
A tool added to one and forgotten in another is caught here, without building anything.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from retina_tui.commands.shell import resolve_image
from retina_tui.config import DEFAULT_IMAGE, load_settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "debug-image.md"
IMAGE_DIR = ROOT / "debug-image"


def _load_verify() -> ModuleType:
    spec = importlib.util.spec_from_file_location("debug_image_verify", IMAGE_DIR / "verify.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


verify = _load_verify()


def docs_tool_table() -> list[tuple[str, str]]:
    """(tool, package) rows of the table headed `| Tool | Package | ...` in the docs."""
    rows: list[tuple[str, str]] = []
    in_table = False
    for line in DOCS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = line.startswith("|") and cells[:2] == ["Tool", "Package"]
            continue
        if not line.startswith("|"):
            break
        if set(cells[0]) <= {"-", ":"}:
            continue
        rows.append((cells[0].strip("`"), cells[1].strip("`")))
    return rows


def test_the_docs_have_a_tool_table() -> None:
    assert len(docs_tool_table()) >= 20


def test_every_documented_tool_is_installed_and_smoke_checked() -> None:
    packages = set(verify.read_packages())
    checks = verify.read_smoke_checks()
    for tool, package in docs_tool_table():
        assert package in packages, f"{tool}: package {package} is not in packages.txt"
        checked_in = {check.package for check in checks if check.tool == tool}
        assert checked_in, f"{tool} is documented but has no smoke check"
        assert checked_in == {package}, (
            f"{tool}: the docs say package {package}, its smoke checks say {sorted(checked_in)}"
        )


def test_every_package_is_documented_and_checked() -> None:
    documented = {package for _, package in docs_tool_table()}
    checked = {check.package for check in verify.read_smoke_checks()}
    for package in verify.read_packages():
        assert package in documented, f"{package} is installed but not in the docs table"
        assert package in checked, f"{package} is installed but has no smoke check"


def test_every_smoke_check_is_documented_and_installed() -> None:
    documented = {tool for tool, _ in docs_tool_table()}
    packages = set(verify.read_packages())
    for check in verify.read_smoke_checks():
        assert check.tool in documented, f"smoke check {check.tool} is not in the docs table"
        assert check.package in packages, f"smoke check {check.tool}: {check.package} missing"


def test_the_required_toolbox_is_there() -> None:
    packages = set(verify.read_packages())
    required = {
        "iputils-ping", "curl", "bind9-dnsutils", "tcpdump", "conntrack", "iproute2",
        "iptables", "nftables", "ipset", "ethtool", "mtr-tiny", "traceroute", "iperf3",
        "socat", "netcat-openbsd", "nmap", "jq", "procps", "less", "strace", "bpftool",
        "ca-certificates", "bash-completion",
    }  # fmt: skip
    assert required <= packages, f"missing: {sorted(required - packages)}"
    netns_tools = {c.tool for c in verify.read_smoke_checks() if c.needs_netns}
    assert {"ping", "tcpdump", "iptables", "iptables-legacy", "nft"} <= netns_tools


def test_package_list_parsing_drops_comments_and_blanks(tmp_path: Path) -> None:
    listing = tmp_path / "packages.txt"
    listing.write_text("# a comment\n\ncurl  # the client\n  jq\n")
    assert verify.read_packages(listing) == ["curl", "jq"]


def test_a_malformed_smoke_check_names_its_line(tmp_path: Path) -> None:
    checks = tmp_path / "smoke-checks.txt"
    checks.write_text("# header\nping\tiputils-ping\tping -c1 ::1\tyes\ncurl curl --version\n")
    with pytest.raises(ValueError, match="line 3"):
        verify.read_smoke_checks(checks)


def test_smoke_check_commands_are_split_like_a_shell(tmp_path: Path) -> None:
    checks = tmp_path / "smoke-checks.txt"
    checks.write_text('bash\tbash\tbash -c "echo a b"\tno\n')
    (check,) = verify.read_smoke_checks(checks)
    assert check.command == ("bash", "-c", "echo a b")
    assert check.needs_netns is False


def test_netns_checks_run_inside_the_namespace_and_the_rootfs() -> None:
    argv = verify.chroot_argv(Path("/r"), ["ping", "-c1", "127.0.0.1"], "ns1")
    assert argv[:4] == ["ip", "netns", "exec", "ns1"]
    assert "chroot" in argv[argv.index("-c") + 1]
    assert argv[-3:] == ["ping", "-c1", "127.0.0.1"]
    assert verify.chroot_argv(Path("/r"), ["ip", "-V"], None)[0] == "unshare"


def test_the_dockerfile_installs_the_package_list() -> None:
    dockerfile = (IMAGE_DIR / "Dockerfile").read_text()
    assert re.search(r"^COPY packages\.txt ", dockerfile, re.MULTILINE)
    assert "xargs apt-get install -y --no-install-recommends" in dockerfile
    assert "rm -rf /var/lib/apt/lists/*" in dockerfile
    assert 'CMD ["bash", "-l"]' in dockerfile
    for label in ("source", "description", "licenses", "version"):
        assert f"org.opencontainers.image.{label}=" in dockerfile


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_rootfs() -> None:
    dockerfile = (IMAGE_DIR / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE))
    lines = (IMAGE_DIR / ".dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert "*" in ignore, "the build context must exclude everything by default (build/)"
    assert copied == allowed
    assert all((IMAGE_DIR / name).is_file() for name in copied)


def test_the_dockerfile_pipeline_installs_exactly_the_package_list() -> None:
    dockerfile = (IMAGE_DIR / "Dockerfile").read_text()
    found = re.search(r"sed (.*?) /usr/share/retina-tui-debug/packages\.txt", dockerfile)
    assert found is not None, "the Dockerfile does not filter packages.txt with sed"
    listed = subprocess.run(
        [
            "sh",
            "-c",
            f"sed {found.group(1)} {shlex.quote(str(IMAGE_DIR / 'packages.txt'))} | xargs -n1",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == verify.read_packages()


def test_the_documented_config_file_sets_the_image(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert blocks, "the docs show no configuration example"
    config = tmp_path / "config.toml"
    config.write_text(textwrap.dedent(blocks[0]))
    image = re.search(r'image = "([^"]+)"', blocks[0])
    assert image is not None
    assert load_settings(config).debug.image == image.group(1)


def test_the_documented_environment_variables_pick_the_documented_image() -> None:
    docs = DOCS.read_text()
    environ = dict(re.findall(r"export (RETINA_SHELL_IMAGE_\w+)=(\S+)", docs))
    assert set(environ) == {"RETINA_SHELL_IMAGE_REPO", "RETINA_SHELL_IMAGE_VERSION"}
    promised = re.search(r"retina-tui shell \S+ +# runs (\S+)", docs)
    assert promised is not None
    assert resolve_image(None, DEFAULT_IMAGE, environ) == promised.group(1)
    repo_only = {"RETINA_SHELL_IMAGE_REPO": environ["RETINA_SHELL_IMAGE_REPO"]}
    assert resolve_image(None, DEFAULT_IMAGE, repo_only).startswith(
        environ["RETINA_SHELL_IMAGE_REPO"] + ":"
    )
