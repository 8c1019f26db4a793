"""Developer tasks: tests (default), lint, typecheck, docs, bench, image."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite, against the embedded sandbox cluster."""
    session.run("sh", "scripts/system-packages.sh", external=True)
    session.install("-e", ".[test]")
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (check and format) and the import layering contracts."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy, strict on retina_tui/."""
    session.install("-e", ".[dev,test]")
    session.run("mypy")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs-material), built strictly: a broken link fails."""
    session.install("-e", ".[docs]")
    quiet = {"NO_MKDOCS_2_WARNING": "1"}  # the theme's notice about its successor
    session.run("mkdocs", "build", "--strict", "--site-dir", "build/site", env=quiet)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks that print figures; not part of CI."""
    session.install("-e", ".[test]")
    import pathlib

    scripts = sorted(pathlib.Path("benchmarks").glob("bench_*.py"))
    wanted = set(session.posargs)
    for script in scripts:
        if not wanted or script.stem.removeprefix("bench_") in wanted:
            session.run("python", str(script))


@nox.session(python=False)
def image(session: nox.Session) -> None:
    """Build the debug image's root filesystem, then smoke-check every tool (root; minutes)."""
    session.run("bash", "debug-image/build_rootfs.sh", external=True)
    session.run("python3", "debug-image/verify.py", *session.posargs, external=True)
