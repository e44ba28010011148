"""kubeconfig resolution must pick the same files, context and namespace as kubectl."""

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubectl_jxsecret.errors import ConfigError
from kubectl_jxsecret.kube import kubeconfig as kcfg
from kubectl_jxsecret.model import block_yaml

REPO = Path(__file__).resolve().parents[2]


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


def test_import_stays_off_heavy_packages():
    code = ("import sys, kubectl_jxsecret.kube.kubeconfig; "
            "print(sorted(m for m in ('kubernetes', 'hvac', 'questionary') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------------------------ the block YAML reader

# `kubectl config set-cluster/set-credentials/set-context/set` (kubectl 1.37) wrote this file: keys sorted,
# sequences at their key's indentation, strings that would read as something else double-quoted.
KUBECTL_WRITTEN = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EK
    server: https://10.0.0.1:6443
  name: prod
- cluster:
    insecure-skip-tls-verify: true
    proxy-url: http://proxy:3128
    server: https://dev.example.com
    tls-server-name: api.dev
  name: dev
contexts:
- context:
    cluster: dev
    namespace: "true"
    user: basic
  name: "0123"
- context:
    cluster: prod
    namespace: jx
    user: eks
  name: prod
current-context: prod
kind: Config
preferences:
  colors: true
users:
- name: basic
  user:
    password: 'it''s 1: #x'
    username: bob
- name: eks
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - --region
      - eu-west-1
      command: aws
      env:
      - name: AWS_PROFILE
        value: prod
      interactiveMode: Never
      provideClusterInfo: false
- name: gke
  user:
    exec:
      args: null
      command: gke-gcloud-auth-plugin
      env: null
"""
KUBECTL_READ = {
    "apiVersion": "v1",
    "clusters": [{"cluster": {"certificate-authority-data": "Q0EK", "server": "https://10.0.0.1:6443"}, "name": "prod"},
                 {"cluster": {"insecure-skip-tls-verify": True, "proxy-url": "http://proxy:3128",
                              "server": "https://dev.example.com", "tls-server-name": "api.dev"}, "name": "dev"}],
    "contexts": [{"context": {"cluster": "dev", "namespace": "true", "user": "basic"}, "name": "0123"},
                 {"context": {"cluster": "prod", "namespace": "jx", "user": "eks"}, "name": "prod"}],
    "current-context": "prod", "kind": "Config", "preferences": {"colors": True},
    "users": [{"name": "basic", "user": {"password": "it's 1: #x", "username": "bob"}},
              {"name": "eks", "user": {"exec": {
                  "apiVersion": "client.authentication.k8s.io/v1beta1", "args": ["--region", "eu-west-1"],
                  "command": "aws", "env": [{"name": "AWS_PROFILE", "value": "prod"}], "interactiveMode": "Never",
                  "provideClusterInfo": False}}},
              {"name": "gke", "user": {"exec": {"args": None, "command": "gke-gcloud-auth-plugin", "env": None}}}],
}


def same(a, b) -> bool:
    """Equal, and of the same types all the way down, keys in the same order: what repr shows (True == 1 and
    {"a": 1, "b": 2} == {"b": 2, "a": 1} in Python; a kubeconfig's values are str, int, bool, None, lists, maps)."""
    return repr(a) == repr(b)


@pytest.mark.parametrize("text, expected", [
    (KUBECTL_WRITTEN, KUBECTL_READ),
    ("", None),
    ("# nothing but a comment\n\n", None),
    # Plain scalars resolve as PyYAML's YAML 1.1 rules say.
    ("a: true\nb: yes\nc: Off\nd: NO\ne: tRue\nf: y\n", {"a": True, "b": True, "c": False, "d": False, "e": "tRue",
                                                          "f": "y"}),
    ("a: ~\nb: null\nc: NULL\nd: nul\ne:\n", {"a": None, "b": None, "c": None, "d": "nul", "e": None}),
    ("a: 12\nb: -3\nc: +0\nd: 0\ne: '12'\nf: \"12\"\n", {"a": 12, "b": -3, "c": 0, "d": 0, "e": "12", "f": "12"}),
    ("a: --region\nb: -v\nc: .hidden\nd: /etc/kube\ne: a:b\nf: http://x:80/#frag\n",
     {"a": "--region", "b": "-v", "c": ".hidden", "d": "/etc/kube", "e": "a:b", "f": "http://x:80/#frag"}),
    ("true: 1\n7: seven\nnull: x\n", {True: 1, 7: "seven", None: "x"}),
    # Quoting, comments, empty collections.
    ("a: 'it''s'\nb: \"say \\\"hi\\\"\\n\"\nc: ''\nd: \"\"\n", {"a": "it's", "b": 'say "hi"\n', "c": "", "d": ""}),
    ("'a b': 1\n\"c: d\": 2\n", {"a b": 1, "c: d": 2}),
    ("a: x # why\nb: 'y' # why\nc: {} # none\nd: []\ne: # nothing here\n# the end\n",
     {"a": "x", "b": "y", "c": {}, "d": [], "e": None}),
    # Structure: sequences at their key's indentation or deeper, compact mappings, empty entries.
    ("a:\n- x\n- y\nb: z\n", {"a": ["x", "y"], "b": "z"}),
    ("a:\n    - x\n    -   k: 1\n        l: 2\n", {"a": ["x", {"k": 1, "l": 2}]}),
    ("-\n- a:\n  - 1\n  b:\n-\n  c: d\n", [None, {"a": [1], "b": None}, {"c": "d"}]),
    ("- - a\n  - b\n- -   c: 1\n      d: 2\n", [["a", "b"], [{"c": 1, "d": 2}]]),  # go-yaml's nested sequences
    ("a:\n  b:\n    c: d\n  e: f\ng: h\n", {"a": {"b": {"c": "d"}, "e": "f"}, "g": "h"}),
    ("a: 1\na: 2\n", {"a": 2}),  # the last one wins, as in PyYAML
])
def test_block_yaml_reads_what_kubectl_writes_as_pyyaml_does(text, expected):
    assert same(block_yaml.load(text), expected)
    assert same(yaml.safe_load(text), expected)


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: {b: 1}\n", "a: [1, 2]\n", "a: |\n  x\n", "a: >-\n  x\n",
    "a: b\n  c\n",  # a plain scalar on two lines
    "a: 'b\n  c'\n", "a: \"\\x41\"\n", "---\na: 1\n", "%YAML 1.1\n---\na: 1\n", "a:\tb\n", "a: caf\u00e9\n",
    "a: 012\n", "a: 1.5\n", "a: 0x1f\n", "a: 1_000\n", "a: 2026-11-29\n", "a: .inf\n", "a: 1.2.3.4\n",
    "<<: {}\n", "? a\n: b\n", "a: b: c\n", "a: 'b' c\n", "a: -\n", "- - a\n - b\n", "a\n", "  a: 1\n", "a: 1\n b: 2\n",
    "a: 1\n- b\n", "k" * 1100 + ": v\n",
])
def test_block_yaml_leaves_everything_else_to_pyyaml(text):
    with pytest.raises(block_yaml.Unsupported):
        block_yaml.load(text)


def load_testbed_module():
    loader = importlib.machinery.SourceFileLoader("jxsecret_testbed", str(REPO / "hack" / "testbed"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


@pytest.mark.parametrize("user", ["admin", "limited", "token"])
def test_the_testbed_kubeconfigs_are_read_without_pyyaml(tmp_path, user):
    testbed = load_testbed_module()
    testbed.STATE = tmp_path
    (tmp_path / "pki").mkdir()
    for name in ("ca.crt", f"{user}.crt", f"{user}.key", "token"):
        (tmp_path / "pki" / name).write_text(f"fake {name}\n")
    testbed.write_kubeconfig(tmp_path / "config", "https://127.0.0.1:6443", user)
    text = (tmp_path / "config").read_text()
    assert same(block_yaml.load(text), yaml.safe_load(text))


def test_a_kubectl_written_kubeconfig_loads_without_importing_pyyaml(tmp_path):
    path = write(tmp_path / "config", KUBECTL_WRITTEN)
    code = ("import json, sys\nfrom kubectl_jxsecret.kube import kubeconfig\n"
            f"kc = kubeconfig.load(kubeconfig_flag={path!r}, env={{}}, home='/nonexistent')\n"
            "print(json.dumps([kc.context, kc.namespace, kc.user()['exec']['args'], 'yaml' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == ["prod", "jx", ["--region", "eu-west-1"], False]


def test_a_kubeconfig_outside_the_subset_is_read_by_pyyaml(tmp_path):
    path = write(tmp_path / "config", "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                                      "clusters:\n- name: k\n  cluster: &k {server: 'https://k'}\n"
                                      "users:\n- {name: u, user: {token: t}}\n")
    kc = kcfg.load(kubeconfig_flag=path, env={}, home=str(tmp_path))
    assert (kc.context, kc.cluster(), kc.user()) == ("c", {"server": "https://k"}, {"token": "t"})
