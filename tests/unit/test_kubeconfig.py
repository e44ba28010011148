"""kubeconfig resolution must pick the same files, context and namespace as kubectl."""

import base64
import os
import subprocess
import sys

import pytest
import yaml

from kubectl_jxsecret.errors import ConfigError
from kubectl_jxsecret.kube import kubeconfig as kcfg


def config(current=None, contexts=(), clusters=(), users=()):
    """contexts: (name, cluster, user, namespace|None); clusters: (name, body); users: (name, body)."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": b} for n, b in clusters],
        "users": [{"name": n, "user": b} for n, b in users],
        "contexts": [
            {"name": n, "context": {"cluster": c, "user": u, **({"namespace": ns} if ns else {})}}
            for n, c, u, ns in contexts
        ],
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def write(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return str(path)


# a.yaml: current ctx-a. b.yaml: current ctx-b, plus a shadowed ctx-a, cluster ca and user ua.
A = config("ctx-a", [("ctx-a", "ca", "ua", None)], [("ca", {"server": "https://a"})], [("ua", {"token": "tok-a"})])
B = config(
    "ctx-b",
    [("ctx-b", "cb", "ub", "ns-b"), ("ctx-a", "ca", "ua", "ns-shadow")],
    [("cb", {"server": "https://b"}), ("ca", {"server": "https://b-shadow"})],
    [("ub", {"token": "tok-b"}), ("ua", {"token": "tok-b-shadow"})],
)


@pytest.fixture
def ab(tmp_path):
    return {"a": write(tmp_path / "a.yaml", A), "b": write(tmp_path / "b.yaml", B), "missing": str(tmp_path / "nope")}


def env_for(ab, spec):
    return {"KUBECONFIG": os.pathsep.join(ab[k] for k in spec.split(":"))}


@pytest.mark.parametrize(
    "spec, context_flag, paths, context, server, token, namespace",
    [
        ("a:b", None, "a:b", "ctx-a", "https://a", "tok-a", "default"),  # a's ctx-a, not b's shadow
        ("b:a", None, "b:a", "ctx-b", "https://b", "tok-b", "ns-b"),
        ("b:a", "ctx-a", "b:a", "ctx-a", "https://b-shadow", "tok-b-shadow", "ns-shadow"),  # b defines it first
        ("a:b", "ctx-b", "a:b", "ctx-b", "https://b", "tok-b", "ns-b"),  # only b has it
        ("missing:a:missing:b", None, "a:b", "ctx-a", "https://a", "tok-a", "default"),  # missing skipped
        ("a:a:b", None, "a:b", "ctx-a", "https://a", "tok-a", "default"),  # duplicates read once
    ],
)
def test_kubeconfig_list_first_file_wins(ab, tmp_path, spec, context_flag, paths, context, server, token, namespace):
    kc = kcfg.load(context_flag=context_flag, env=env_for(ab, spec), home=str(tmp_path / "home"))
    assert kc.paths == tuple(ab[k] for k in paths.split(":"))
    assert (kc.context, kc.cluster()["server"], kc.user()["token"], kc.namespace) == (context, server, token, namespace)
    assert sorted(kc.contexts()) == ["ctx-a", "ctx-b"]


def test_kubeconfig_flag_overrides_env_and_is_not_merged(ab, tmp_path):
    kc = kcfg.load(kubeconfig_flag=ab["b"], env=env_for(ab, "a:b"), home=str(tmp_path))
    assert kc.paths == (ab["b"],)
    assert kc.context == "ctx-b"
    kc = kcfg.load(kubeconfig_flag=ab["b"], context_flag="ctx-a", env=env_for(ab, "a:b"), home=str(tmp_path))
    assert kc.cluster()["server"] == "https://b-shadow"


def test_missing_kubeconfig_flag_file_is_an_error(ab, tmp_path):
    with pytest.raises(ConfigError, match=r"nope.*--kubeconfig.*does not exist"):
        kcfg.load(kubeconfig_flag=ab["missing"], env=env_for(ab, "a"), home=str(tmp_path))


def test_home_config_used_without_flag_or_env(tmp_path):
    path = write(tmp_path / ".kube" / "config", A)
    kc = kcfg.load(env={}, home=str(tmp_path))
    assert (kc.paths, kc.context) == ((path,), "ctx-a")


@pytest.mark.parametrize(
    "flag, kubeconfig_env, expected",
    [
        (None, None, ["HOME/.kube/config"]),
        (None, "", ["HOME/.kube/config"]),  # empty KUBECONFIG counts as unset
        (None, "x:y", ["x", "y"]),
        (None, "x::y:x:", ["x", "y"]),  # empty entries and duplicates dropped, order kept
        (None, ":", []),  # a set KUBECONFIG never falls back to the home file
        ("FLAG", "x:y", ["FLAG"]),
    ],
)
def test_kubeconfig_paths(tmp_path, flag, kubeconfig_env, expected):
    flag_file = write(tmp_path / "flag.yaml", A)
    env = {} if kubeconfig_env is None else {"KUBECONFIG": kubeconfig_env.replace(":", os.pathsep)}
    got = kcfg.kubeconfig_paths(flag_file if flag else None, env, "HOME")
    assert got == [flag_file if p == "FLAG" else p.replace("/", os.sep) for p in expected]


def test_no_kubeconfig_at_all(ab, tmp_path):
    with pytest.raises(ConfigError, match="no kubeconfig found: set KUBECONFIG or pass --kubeconfig"):
        kcfg.load(env=env_for(ab, "missing"), home=str(tmp_path))
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        kcfg.load(env={}, home=str(tmp_path / "empty-home"))


@pytest.mark.parametrize(
    "flag, context_ns, expected, from_flag",
    [("team", "ctx-ns", "team", True), (None, "ctx-ns", "ctx-ns", False), (None, None, "default", False),
     ("team", None, "team", True)],
)
def test_namespace_precedence(tmp_path, flag, context_ns, expected, from_flag):
    path = write(tmp_path / "c.yaml", config("c", [("c", "k", "u", context_ns)], [("k", {"server": "https://k"})],
                                             [("u", {"token": "t"})]))
    kc = kcfg.load(kubeconfig_flag=path, namespace_flag=flag, env={}, home=str(tmp_path))
    assert (kc.namespace, kc.namespace_from_flag) == (expected, from_flag)


@pytest.mark.parametrize(
    "doc, context_flag, message",
    [
        (A, "nope", r'context "nope" not found in .*a\.yaml'),
        (config(None, [("ctx-a", "ca", "ua", None)], [("ca", {})], [("ua", {})]), None,
         r"no current context in .*a\.yaml: pass --context or run kubectl config use-context"),
        (config("ctx-a", [("ctx-a", "gone", "ua", None)], [], [("ua", {})]), None, r'cluster "gone"'),
        (config("ctx-a", [("ctx-a", "ca", "ghost", None)], [("ca", {})], []), None, r'user "ghost"'),
        ("current-context: x\ncontexts: [\n  - broken\n", None, r"a\.yaml line \d+ is not valid YAML"),
        ("- just\n- a list\n", None, r"a\.yaml is not a YAML mapping"),
        ("clusters:\n- name: x\n  cluster: {}\n- name: x\n  cluster: {}\n", None, r'a\.yaml: duplicate cluster "x"'),
    ],
    ids=["unknown-context", "no-current-context", "missing-cluster", "missing-user", "malformed", "not-mapping",
         "duplicate-name"],
)
def test_config_errors_name_the_file_and_thing(tmp_path, doc, context_flag, message):
    path = write(tmp_path / "a.yaml", doc)
    with pytest.raises(ConfigError, match=message):
        kcfg.load(context_flag=context_flag, env={"KUBECONFIG": path}, home=str(tmp_path))


def test_malformed_file_later_in_list_is_not_skipped(ab, tmp_path):
    bad = write(tmp_path / "bad.yaml", "a: [\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml line 2 is not valid YAML"):
        kcfg.load(env={"KUBECONFIG": os.pathsep.join([ab["a"], bad])}, home=str(tmp_path))


@pytest.mark.parametrize(
    "configs, current",
    [
        ([("a", {}), ("b", {"current-context": "x"})], "x"),
        ([("a", {"current-context": ""}), ("b", {"current-context": "x"}), ("c", {"current-context": "y"})], "x"),
        ([("a", {"current-context": "y"}), ("b", {"current-context": "x"})], "y"),
        ([("a", {"preferences": {"colors": True}})], ""),
    ],
)
def test_merge_current_context_is_first_non_empty(configs, current):
    merged = kcfg.merge(configs)
    assert merged["current-context"] == current
    assert "preferences" not in merged


def test_relative_paths_resolve_against_the_defining_file(tmp_path, monkeypatch):
    one, two = tmp_path / "one", tmp_path / "deep" / "two"
    a = write(one / "a.yaml", config(
        "ctx-a", [("ctx-a", "ca", "ua", None)],
        [("ca", {"server": "https://a", "certificate-authority": "ca.crt"})],
        [("ua", {"client-certificate": "../certs/c.crt", "client-key": "/abs/k.key", "tokenFile": "tok",
                 "exec": {"command": "./bin/helper"}}),
         ("plain", {"exec": {"command": "aws"}})]))
    b = write(two / "b.yaml", config(
        "ctx-b", [("ctx-b", "cb", "ub", None)], [("cb", {"certificate-authority": "sub/ca.crt"}),
                                                 ("ca", {"certificate-authority": "shadow.crt"})],
        [("ub", {"client-key": "k.key"})]))
    monkeypatch.chdir(tmp_path / "deep")  # paths must not depend on the working directory
    merged = kcfg.merge([(os.path.relpath(a), yaml.safe_load(open(a))), (b, yaml.safe_load(open(b)))])
    clusters = {e["name"]: e["cluster"] for e in merged["clusters"]}
    users = {e["name"]: e["user"] for e in merged["users"]}
    assert clusters["ca"]["certificate-authority"] == str(one / "ca.crt")  # a's, not b's shadow
    assert clusters["cb"]["certificate-authority"] == str(two / "sub" / "ca.crt")
    assert users["ua"]["client-certificate"] == os.path.join(str(one), "../certs/c.crt")
    assert users["ua"]["client-key"] == "/abs/k.key"
    assert users["ua"]["tokenFile"] == str(one / "tok")
    assert users["ua"]["exec"]["command"] == os.path.join(str(one), "./bin/helper")
    assert users["plain"]["exec"]["command"] == "aws"  # looked up on PATH, left alone
    assert users["ub"]["client-key"] == str(two / "k.key")


@pytest.fixture
def files_config(tmp_path):
    """ctx-a uses file credentials given relative to its kubeconfig's directory; ctx-b must be dropped."""
    d = tmp_path / "cfg"
    (d / "pki").mkdir(parents=True)
    (d / "pki" / "ca.crt").write_bytes(b"CA-BYTES\n")
    (d / "pki" / "c.crt").write_bytes(b"CERT-BYTES")
    (d / "pki" / "c.key").write_bytes(b"KEY-BYTES")
    (d / "token").write_text("s3cret-token\n")
    doc = config(
        "ctx-b",
        [("ctx-a", "ca", "ua", "ns-a"), ("ctx-b", "cb", "ub", None)],
        [("ca", {"server": "https://a", "certificate-authority": "pki/ca.crt", "certificate-authority-data": "b2xk"}),
         ("cb", {"server": "https://b"})],
        [("ua", {"client-certificate": "pki/c.crt", "client-key": "pki/c.key", "tokenFile": "token"}),
         ("ub", {"token": "other"})],
    )
    return write(d / "config", doc)


def test_flatten_embeds_file_credentials_and_keeps_one_context(files_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flat = kcfg.flatten(kcfg.load(kubeconfig_flag=files_config, context_flag="ctx-a", env={}, home=str(tmp_path)))
    assert flat["current-context"] == "ctx-a"
    assert [len(flat[k]) for k in ("clusters", "contexts", "users")] == [1, 1, 1]
    assert flat["contexts"][0] == {"name": "ctx-a", "context": {"cluster": "ca", "user": "ua", "namespace": "ns-a"}}
    cluster, user = flat["clusters"][0]["cluster"], flat["users"][0]["user"]
    assert cluster == {"server": "https://a", "certificate-authority-data": base64.b64encode(b"CA-BYTES\n").decode()}
    assert user == {"client-certificate-data": base64.b64encode(b"CERT-BYTES").decode(),
                    "client-key-data": base64.b64encode(b"KEY-BYTES").decode(), "token": "s3cret-token"}
    assert "other" not in yaml.safe_dump(flat)  # nothing from the other context leaks in


def test_flatten_missing_credential_file_names_path_only(files_config, tmp_path):
    os.unlink(os.path.join(os.path.dirname(files_config), "pki", "c.key"))
    kc = kcfg.load(kubeconfig_flag=files_config, context_flag="ctx-a", env={}, home=str(tmp_path))
    with pytest.raises(ConfigError, match=r"client-key .*pki/c\.key") as err:
        kcfg.flatten(kc)
    assert "BYTES" not in str(err.value)


def test_nameless_file_reads_back_by_fd_path_and_has_no_name(files_config, tmp_path, monkeypatch):
    flat = kcfg.flatten(kcfg.load(kubeconfig_flag=files_config, context_flag="ctx-a", env={}, home=str(tmp_path)))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    fd = kcfg.nameless_file(flat)
    try:
        kc = kcfg.load(kubeconfig_flag=f"/dev/fd/{fd}", env={}, home=str(tmp_path))
        assert (kc.context, kc.user()["token"], kc.namespace) == ("ctx-a", "s3cret-token", "ns-a")
        assert os.readlink(f"/proc/self/fd/{fd}") == "/memfd:jxsecret-kubeconfig (deleted)"  # memory, not disk
        assert os.listdir(tmp_path / "tmp") == []
    finally:
        os.close(fd)


def test_import_stays_off_heavy_packages():
    code = ("import sys, kubectl_jxsecret.kube.kubeconfig; "
            "print(sorted(m for m in ('kubernetes', 'hvac', 'questionary', 'portforward') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.stdout.strip() == "[]"
