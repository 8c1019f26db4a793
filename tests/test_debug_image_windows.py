"""The Windows debug image's docs, tool list, smoke checks, Dockerfile and workflow must agree.

docs/debug-image-windows.md promises tools and tags; debug-image/windows/tools.txt lists
the tools; smoke-checks.txt is what verify.ps1 runs to prove each one starts; the
Dockerfile and .github/workflows/debug-image-windows.yml build and check one image per
Windows Server release. None of that can be built or run without Windows, so a tool or
release added to one and forgotten in another is caught here, by reading the files.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "debug-image-windows.md"
IMAGE_DIR = ROOT / "debug-image" / "windows"
WORKFLOW = ROOT / ".github" / "workflows" / "debug-image-windows.yml"
IMAGE_HOME = "C:\\retina-tui-debug\\"
RUNNERS = {"ltsc2019": "windows-2019", "ltsc2022": "windows-2022", "ltsc2025": "windows-2025"}


def _load_windows_tools() -> ModuleType:
    path = IMAGE_DIR / "windows_tools.py"
    spec = importlib.util.spec_from_file_location("debug_image_windows_tools", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


windows_tools = _load_windows_tools()


def docs_table(first: str, second: str) -> list[list[str]]:
    """The rows (cells without backticks) of the docs table whose header starts so."""
    rows: list[list[str]] = []
    in_table = False
    for line in DOCS.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = line.startswith("|") and cells[:2] == [first, second]
            continue
        if not line.startswith("|"):
            break
        if set(cells[0]) <= {"-", ":"}:
            continue
        rows.append([cell.strip("`") for cell in cells])
    return rows


def docs_tools() -> dict[str, tuple[str, str]]:
    """Tool -> (source, what for), from the table headed `| Tool | Source | What for |`."""
    header = re.search(r"^\| Tool \| Source \| What for \|$", DOCS.read_text(), re.MULTILINE)
    assert header is not None, "the docs have no table headed | Tool | Source | What for |"
    rows = docs_table("Tool", "Source")
    names = [row[0] for row in rows]
    assert len(names) == len(set(names)), f"a tool is documented twice: {names}"
    return {row[0]: (row[1], row[2]) for row in rows}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuations (`) joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (IMAGE_DIR / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("`"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def instruction_args(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    # YAML 1.1 reads the bare key `on` as true.
    if True in loaded:
        loaded["on"] = loaded.pop(True)
    return loaded


def step_runs(job: dict[str, Any]) -> list[str]:
    return [" ".join(str(step["run"]).split()) for step in job["steps"] if "run" in step]


def test_the_docs_have_a_tool_table() -> None:
    documented = docs_tools()
    assert len(documented) >= 15
    for tool, (source, what_for) in documented.items():
        assert source in windows_tools.SOURCES, f"{tool}: unknown source {source!r}"
        assert len(what_for) > 10, f"{tool}: the docs do not say what it is for"


def test_every_documented_tool_is_listed_with_its_source_and_checked() -> None:
    listed = {tool.name: tool.source for tool in windows_tools.read_tools()}
    checks = windows_tools.read_smoke_checks()
    for tool, (source, _) in docs_tools().items():
        assert tool in listed, f"{tool} is documented but not in tools.txt"
        assert listed[tool] == source, (
            f"{tool}: the docs say it comes from {source}, tools.txt says {listed[tool]}"
        )
        checked = {check.source for check in checks if check.tool == tool}
        assert checked, f"{tool} is documented but has no smoke check"
        assert checked == {source}, f"{tool}: its smoke checks say {sorted(checked)}"


def test_every_listed_tool_is_documented_and_checked() -> None:
    documented = docs_tools()
    checked = {check.tool for check in windows_tools.read_smoke_checks()}
    for tool in windows_tools.read_tools():
        assert tool.name in documented, f"{tool.name} is in tools.txt but not in the docs table"
        assert tool.name in checked, f"{tool.name} is in tools.txt but has no smoke check"


def test_every_smoke_check_names_a_documented_tool() -> None:
    documented = docs_tools()
    listed = {tool.name for tool in windows_tools.read_tools()}
    for check in windows_tools.read_smoke_checks():
        assert check.tool in documented, f"smoke check {check.tool} is not in the docs table"
        assert check.tool in listed, f"smoke check {check.tool} is not in tools.txt"
        assert documented[check.tool][0] == check.source, f"smoke check {check.tool}: source"


def test_the_required_windows_toolbox_is_there() -> None:
    listed = {tool.name: tool.source for tool in windows_tools.read_tools()}
    required = {
        "pktmon", "netsh", "Test-NetConnection", "Resolve-DnsName", "curl.exe", "nslookup",
        "tracert", "pathping", "ipconfig", "route", "arp", "netstat", "Get-NetIPAddress",
        "Get-NetRoute", "hnsdiag",
    }  # fmt: skip
    assert required <= set(listed), f"missing: {sorted(required - set(listed))}"
    assert listed["hnsdiag"] == "host", "hnsdiag comes from the node, not from the image"
    assert {name for name, source in listed.items() if source == "host"} == {"hnsdiag"}


def test_host_tools_are_documented_as_used_on_the_node() -> None:
    for tool, (source, what_for) in docs_tools().items():
        if source == "host":
            assert "on the node, through a HostProcess shell" in what_for, tool


def test_the_smoke_checks_prove_the_tools_start() -> None:
    commands: dict[str, list[str]] = {}
    for check in windows_tools.read_smoke_checks():
        commands.setdefault(check.tool, []).append(check.command)
    ping = "Test-NetConnection -ComputerName 127.0.0.1"
    assert "pktmon help" in " ".join(commands["pktmon"])
    assert any(command.startswith(ping) for command in commands["Test-NetConnection"])
    assert "Resolve-DnsName -Name localhost" in commands["Resolve-DnsName"]
    assert "curl.exe --version" in commands["curl.exe"]
    for tool, tool_commands in commands.items():
        name = tool.removesuffix(".exe")
        assert all(name in command for command in tool_commands), f"{tool} check runs another tool"


def test_tool_list_parsing_drops_comments_and_blanks(tmp_path: Path) -> None:
    listing = tmp_path / "tools.txt"
    listing.write_text("# a comment\n\n  # indented comment\npktmon\twindows\nhnsdiag\thost\n")
    tools = windows_tools.read_tools(listing)
    assert [(tool.name, tool.source) for tool in tools] == [
        ("pktmon", "windows"),
        ("hnsdiag", "host"),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "curl.exe windows",  # spaces, not a tab
        "curl.exe\tchocolatey",  # unknown source
        "curl.exe\twindows\textra",  # a column too many
        "\twindows",  # no tool
        "pktmon\thost",  # listed twice
    ],
)
def test_a_malformed_tool_line_names_its_line(tmp_path: Path, bad: str) -> None:
    listing = tmp_path / "tools.txt"
    listing.write_text(f"# header\npktmon\twindows\n{bad}\n")
    with pytest.raises(ValueError, match=r"tools\.txt line 3\b"):
        windows_tools.read_tools(listing)


@pytest.mark.parametrize(
    "bad",
    ["curl.exe\twindows", "curl.exe\twindows\t ", "curl.exe\tlinux\tcurl.exe --version"],
)
def test_a_malformed_smoke_check_names_its_line(tmp_path: Path, bad: str) -> None:
    checks = tmp_path / "smoke-checks.txt"
    checks.write_text(f"# header\n\npktmon\twindows\tpktmon help\n{bad}\n")
    with pytest.raises(ValueError, match=r"smoke-checks\.txt line 4\b"):
        windows_tools.read_smoke_checks(checks)


def test_a_smoke_check_command_is_kept_whole(tmp_path: Path) -> None:
    checks = tmp_path / "smoke-checks.txt"
    checks.write_text("netstat\twindows\t$l = 1; try { netstat -an } finally { $l = 0 }\n")
    (check,) = windows_tools.read_smoke_checks(checks)
    assert check == windows_tools.SmokeCheck(
        "netstat", "windows", "$l = 1; try { netstat -an } finally { $l = 0 }"
    )


def test_the_dockerfile_copies_exactly_what_the_build_context_admits() -> None:
    copied: set[str] = set()
    for arguments in instruction_args("COPY"):
        *sources, destination = arguments.split()
        assert destination.replace("/", "\\") == IMAGE_HOME, destination
        copied.update(sources)
    lines = (IMAGE_DIR / ".dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert "*" in ignore, "the build context must exclude everything by default"
    assert copied == allowed
    assert {"tools.txt", "smoke-checks.txt", "verify.ps1", "debug-prompt.ps1"} <= copied
    assert all((IMAGE_DIR / name).is_file() for name in copied)


def test_the_dockerfile_is_a_powershell_windows_image_with_labels() -> None:
    text = (IMAGE_DIR / "Dockerfile").read_text()
    assert text.splitlines()[0] == "# escape=`"
    instructions = dockerfile_instructions()
    assert instructions[0] == ("ARG", "BASE=mcr.microsoft.com/windows/servercore:ltsc2022")
    assert instructions[1] == ("FROM", "${BASE}")
    (shell,) = instruction_args("SHELL")
    stop = "$ErrorActionPreference = 'Stop';"
    assert json.loads(shell) == ["powershell", "-NoLogo", "-NoProfile", "-Command", stop]
    (cmd,) = instruction_args("CMD")
    assert json.loads(cmd) == ["powershell.exe", "-NoLogo"]
    assert instructions[-1][0] == "CMD"
    (labels,) = instruction_args("LABEL")
    for label in ("source", "description", "licenses", "version"):
        assert f"org.opencontainers.image.{label}=" in labels


def test_the_dockerfile_sets_the_prompt_and_ends_with_the_smoke_checks() -> None:
    runs = instruction_args("RUN")
    assert runs, "the Dockerfile runs nothing"
    last = runs[-1]
    assert "Profile.ps1" in last and f"{IMAGE_HOME}debug-prompt.ps1" in last
    assert f"& {IMAGE_HOME}verify.ps1" in last and last.endswith("exit $LASTEXITCODE")


def test_the_workflow_builds_each_release_on_its_runner() -> None:
    flow = workflow()
    build = flow["jobs"]["build"]
    matrix = build["strategy"]["matrix"]["include"]
    assert {entry["release"]: entry["runner"] for entry in matrix} == RUNNERS
    assert len(matrix) == len(RUNNERS)
    assert build["runs-on"] == "${{ matrix.runner }}"
    runs = step_runs(build)
    (docker_build,) = [run for run in runs if run.startswith("docker build ")]
    assert "--build-arg BASE=mcr.microsoft.com/windows/servercore:${{ matrix.release }}" in (
        docker_build
    )
    assert docker_build.endswith(" debug-image/windows")
    assert not any("buildx" in run for run in runs)
    assert flow["on"]["push"]["tags"] == ["v*"]
    assert "debug-image/windows/**" in flow["on"]["push"]["paths"]
    assert "debug-image/windows/**" in flow["on"]["pull_request"]["paths"]


def test_the_workflow_pushes_only_on_tags_and_joins_the_releases() -> None:
    jobs = workflow()["jobs"]
    on_tags = "startsWith(github.ref, 'refs/tags/v')"
    for step in jobs["build"]["steps"]:
        if "docker push" in str(step.get("run", "")) or "login" in str(step.get("uses", "")):
            assert step.get("if") == on_tags, step
    manifest = jobs["manifest"]
    assert manifest["needs"] == "build" and manifest["if"] == on_tags
    (create,) = [run for run in step_runs(manifest) if "docker manifest create" in run]
    for release in RUNNERS:
        assert f'"$image:$version-{release}"' in create
    assert any("docker manifest push" in run for run in step_runs(manifest))


def test_the_workflow_runs_the_checks_where_the_image_keeps_them() -> None:
    runs = step_runs(workflow()["jobs"]["build"])
    (smoke,) = [run for run in runs if run.startswith("docker run --rm ")]
    assert smoke.endswith(f"powershell -File {IMAGE_HOME}verify.ps1")


def test_the_documented_tags_are_the_built_releases() -> None:
    from retina_tui.sessions.windows import RELEASES

    rows = docs_table("Tag", "Windows Server")
    documented = {row[0].removeprefix("<version>-"): (row[1], int(row[2])) for row in rows}
    assert set(documented) == set(RUNNERS)
    for build, (release, name) in RELEASES.items():
        assert documented[release] == (name, build)
    for row in rows:
        assert row[3] == f"10.0.{row[2]}.*"


def test_the_documented_configuration_sets_the_windows_image(tmp_path: Path) -> None:
    from retina_tui.config import load_settings

    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert len(blocks) == 1, "the docs show no (or several) configuration examples"
    parsed = tomllib.loads(blocks[0])
    template = parsed["debug"]["windows_image"]
    assert "{ltsc}" in template
    config = tmp_path / "config.toml"
    config.write_text(blocks[0])
    assert load_settings(config).debug.windows_image == template


def test_the_documented_default_and_example_are_what_retina_tui_does() -> None:
    from retina_tui.config import DEFAULT_WINDOWS_IMAGE
    from retina_tui.sessions.windows import image_for_node

    docs = " ".join(DOCS.read_text().split())
    default = re.search(r"Its default is ``` (\S+) ```", docs)
    assert default is not None, "the docs do not show the default image"
    assert default.group(1) == DEFAULT_WINDOWS_IMAGE
    example = re.search(r"`(10\.0\.(\d+)\.\d+)` is build (\d+), so the image is `([^`]+)`", docs)
    assert example is not None, "the docs do not show how a kernel version picks the tag"
    kernel, build_in_version, build, image = example.groups()
    assert build_in_version == build
    node = {"status": {"nodeInfo": {"kernelVersion": kernel}}}
    assert image_for_node(DEFAULT_WINDOWS_IMAGE, node, "win-0") == image


def test_the_prompt_is_the_documented_one() -> None:
    script = (IMAGE_DIR / "debug-prompt.ps1").read_text()
    body = re.search(r"function global:prompt \{\s*\n\s*\"(.*)\"\s*\n\s*\}", script)
    assert body is not None, "debug-prompt.ps1 does not define the prompt function"
    rendered = (
        body.group(1)
        .replace("$env:COMPUTERNAME", "WEB-0")
        .replace("$($executionContext.SessionState.Path.CurrentLocation)", "C:\\")
        .replace("$('>' * ($NestedPromptLevel + 1))", ">")
    )
    assert rendered == "PS [rtui WEB-0] C:\\> "
    assert f"```\n{rendered.rstrip()}\n```" in DOCS.read_text()
    expected = '"PS [rtui $env:COMPUTERNAME] C:\\> "'
    assert expected in (IMAGE_DIR / "verify.ps1").read_text(), "verify.ps1 checks another prompt"


def test_verify_reads_the_lists_beside_it_and_skips_host_tools_in_the_image() -> None:
    verify = (IMAGE_DIR / "verify.ps1").read_text()
    assert "Join-Path $Here 'tools.txt'" in verify
    assert "Join-Path $Here 'smoke-checks.txt'" in verify
    assert "$check[1] -eq 'host' -and -not $OnNode" in verify
    assert "$Sources = @(" + ", ".join(f"'{s}'" for s in windows_tools.SOURCES) + ")" in verify
