"""The pure checks behind the bad-input errors: image references, capabilities, keys, names."""

from __future__ import annotations

import pytest

from retina_tui.errors import ConfigError
from retina_tui.sessions.specs import parse_capabilities
from retina_tui.validation.capabilities import (
    LINUX_CAPABILITIES,
    capability_problem,
    check_capabilities,
)
from retina_tui.validation.image import image_problem
from retina_tui.validation.names import label_problem, subdomain_problem

SHA = "a" * 64


@pytest.mark.parametrize(
    "reference",
    [
        "nginx",
        "nginx:1.27",
        "docker.io/nicolaka/netshoot:v0.13",
        "library/busybox:latest",
        "localhost/img",
        "localhost:5000/img:v1",
        "registry.example.com:443/team/tools/netshoot:2024.01_rc-1",
        "[::1]:5000/a/b:c",
        "Registry.Example.COM/img",
        "a__b/c.d/e-f/g---h",
        f"netshoot@sha256:{SHA}",
        f"ghcr.io/x/netshoot:v1@sha256:{SHA}",
        f"img@sha512:{'b' * 128}",
        "img:" + "t" * 128,
        "x" * 255,
        "img:_underscore",
    ],
)
def test_references_the_kubelet_accepts(reference: str) -> None:
    assert image_problem(reference) is None


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("", "empty"),
        ("UPPER :://bad ref", "white space"),
        (" nginx", "white space"),
        ("Netshoot", "must be lowercase"),
        ("docker.io/Nicolaka/netshoot", "must be lowercase"),
        ("nginx:-v1", "the tag '-v1'"),
        ("nginx:.v1", "the tag '.v1'"),
        ("nginx:" + "t" * 129, "the tag"),
        ("nginx:", "the tag ''"),
        ("a..b", "is not lowercase letters and digits"),
        ("-a", "is not lowercase letters and digits"),
        ("a/", "is not lowercase letters and digits"),
        ("a//b", "is not lowercase letters and digits"),
        ("a_-b", "is not lowercase letters and digits"),
        ("example.com:/x", "the registry 'example.com:'"),
        ("exa_mple.com/x", "the registry"),
        ("x" * 256, "longer than 255"),
        ("img@sha256:abc", "is not ALGORITHM:HEX"),
        (f"img@sha256:{SHA}0", "64 lowercase hex digits"),
        (f"img@sha256:{SHA.upper()}", "64 lowercase hex digits"),
        (f"img@md5:{SHA}", "not one of sha256"),
        ("img@", "is not ALGORITHM:HEX"),
        (":tag", "no repository name"),
        (SHA, "image id"),
    ],
)
def test_references_that_are_not(reference: str, problem: str) -> None:
    found = image_problem(reference)
    assert found is not None and problem in found, found


def test_the_linux_capability_list_is_complete() -> None:
    assert len(LINUX_CAPABILITIES) == 41
    assert LINUX_CAPABILITIES[0] == "CHOWN" and LINUX_CAPABILITIES[-1] == "CHECKPOINT_RESTORE"
    assert len(set(LINUX_CAPABILITIES)) == 41


@pytest.mark.parametrize(
    "name", ["NET_ADMIN", "net_raw", "CAP_SYS_PTRACE", "cap_bpf", "ALL", "all"]
)
def test_capability_spellings(name: str) -> None:
    assert capability_problem(name) is None


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("NET_FOO", "NET_RAW"), ("SYS_ADMINN", "SYS_ADMIN"), ("netadmin", "NET_ADMIN")],
)
def test_unknown_capabilities_suggest_the_closest(name: str, suggestion: str) -> None:
    problem = capability_problem(name)
    assert problem is not None and f"did you mean {suggestion}?" in problem


def test_a_capability_nothing_resembles() -> None:
    problem = capability_problem("XYZZY")
    assert problem is not None and "man 7 capabilities" in problem


def test_capabilities_are_normalized_once() -> None:
    assert check_capabilities(["net_admin", "CAP_NET_ADMIN", "Net_Raw"]) == ("NET_ADMIN", "NET_RAW")
    assert parse_capabilities(" net_admin , cap_net_raw ") == ("NET_ADMIN", "NET_RAW")
    assert parse_capabilities("none") == () == parse_capabilities("")
    with pytest.raises(ConfigError, match=r"'NET_FOO' is not a Linux capability .*; name"):
        parse_capabilities("NET_ADMIN,NET_FOO")


@pytest.mark.parametrize(
    "key",
    [
        "q",
        "S",
        "ctrl+q",
        "question_mark",
        "colon",
        "slash",
        "percent_sign",
        "quotation_mark",
        "right_square_bracket",
        "f1",
        "f24",
        "ctrl+right",
        "shift+tab",
        "alt+enter",
        "meta+x",
        "super+hyper+space",
        "escape",
        "minus",
        "full_stop",
        "ctrl+shift+home",
    ],
)
def test_textual_keys(key: str) -> None:
    from retina_tui.ui.keys import key_problem

    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("not a key!!", "is not a key Textual knows"),
        ("ctrl+", "has no key after its modifiers"),
        ("", "a key is empty"),
        ("cmd+q", "'cmd' in 'cmd+q' is not a modifier"),
        ("ctrl + q", "is not a modifier"),
        ("upp", "did you mean up?"),
        ("questionmark", "is not a key Textual knows"),
        ("F1", "did you mean f1?"),
    ],
)
def test_not_textual_keys(key: str, problem: str) -> None:
    from retina_tui.ui.keys import key_problem

    found = key_problem(key)
    assert found is not None and problem in found, found


def test_key_settings_name_the_file_the_setting_and_the_key(tmp_path: object) -> None:
    from pathlib import Path

    from retina_tui.config import KeySettings
    from retina_tui.ui.keys import check_key_settings

    check_key_settings(KeySettings(), None)
    with pytest.raises(ConfigError) as caught:
        check_key_settings(KeySettings(split="percent_sign,ctrl+nope"), Path("/etc/rt.toml"))
    assert str(caught.value).startswith(
        "The configuration file /etc/rt.toml is invalid at ui.keys.split: 'ctrl+nope' is not"
    )


def test_every_default_key_is_valid() -> None:
    from retina_tui.config import KeySettings
    from retina_tui.ui.keys import APP_BINDINGS, key_problem

    for value in KeySettings().model_dump().values():
        assert all(key_problem(key) is None for key in value.split(",")), value
    for binding in APP_BINDINGS:
        assert all(key_problem(key) is None for key in binding.key.split(","))  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["node-1", "a", "web-0.shop", "x" * 253])
def test_object_names(name: str) -> None:
    assert subdomain_problem(name) is None


@pytest.mark.parametrize("name", ["", " ", " a", "A", "a_b", "-a", "a-", "x" * 254, "a..b"])
def test_not_object_names(name: str) -> None:
    assert subdomain_problem(name) is not None


def test_namespace_names() -> None:
    assert label_problem("kube-system") is None
    assert label_problem("a.b") is not None
    assert label_problem("x" * 64) is not None
