"""The export/import file layout (model.transfer): parse, render, round trip, errors with line numbers."""

import pytest

from kubectl_jxsecret.model.transfer import LayoutError, file_path, parse, render

# jx secret export's layout (its two old test files, combined): nested maps, string leaves.
JX_EXPORT = """\
secret:
  knative:
    docker:
      user:
        pass:
          password: dummyDockerPassword
          username: dummyDockerUsername
  pipelineUser:
    username: jenkins-x-labs-bot
    email: jenkins-x@googlegroups.com
    token: dummyPipelineUser
"""


@pytest.mark.parametrize("text, paths", [
    (JX_EXPORT, {"secret/knative/docker/user/pass": {"password": "dummyDockerPassword", "username": "dummyDockerUsername"},
                 "secret/pipelineUser": {"username": "jenkins-x-labs-bot", "email": "jenkins-x@googlegroups.com",
                                         "token": "dummyPipelineUser"}}),
    ("secret/a/b:\n  k: v\n", {"secret/a/b": {"k": "v"}}),  # flat paths
    ("/secret/a/:\n  k: v\n", {"secret/a": {"k": "v"}}),  # slashes at either end do not matter
    ("secret:\n  a:\n    k: v\n    b:\n      k: w\n", {"secret/a": {"k": "v"}, "secret/a/b": {"k": "w"}}),  # mixed level
    ("secret:\n  pin: 0123\n  on: yes\n  n: 1e3\n", {"secret": {"pin": "0123", "on": "yes", "n": "1e3"}}),  # as written
    ('secret:\n  q: "a: b"\n  m: |\n    line 1\n    line 2\n', {"secret": {"q": "a: b", "m": "line 1\nline 2\n"}}),
    ("", {}),
    ("# only a comment\n", {}),
])
def test_parse(text, paths):
    assert parse(text, "f.yaml") == paths


@pytest.mark.parametrize("text, error", [
    ("secret:\n  a: [1, 2]\n", "f.yaml, line 2: secret/a is a list; expected a value or a map"),
    ("secret:\n  a:\n", "f.yaml, line 2: secret/a is an empty value; expected a value or a map"),
    ("token: x\n", "f.yaml, line 1: 'token' is a value at the top level; values belong under a store path"),
    ("- a\n- b\n", "f.yaml, line 1: expected a map of store paths"),
    ("secret:\n  a: x\n  a: y\n", "f.yaml, line 3: secret has 'a' twice"),
    ("secret:\n  a: 'open\n", "f.yaml, line 3: not valid YAML: found unexpected end of stream"),
    ("secret:\n\tb: x\n", "f.yaml, line 2: not valid YAML: found character '\\t' that cannot start any token"),
])
def test_parse_errors_name_the_line(text, error):
    with pytest.raises(LayoutError) as e:
        parse(text, "f.yaml")
    assert str(e.value) == error


@pytest.mark.parametrize("paths", [
    {"secret/knative/docker/user/pass": {"password": "p", "username": "u"}, "secret/pipelineUser": {"token": "t"}},
    {"secret/a": {"k": "0123", "t": "true", "e": "", "multi": "-----BEGIN-----\nabc\n-----END-----\n"}},
    {"secret/a": {"b": "property named like a sub-path"}, "secret/a/b": {"k": "v"}},  # the sub-path goes flat
    {"kv1/x": {"json": '{"a": 1}', "colon": "a: b", "hash": "# not a comment", "space": " padded "}},
])
def test_render_reads_back_exactly(paths):
    text = render(paths)
    assert text.startswith("# kubectl jxsecret export")
    assert parse(text, "f") == paths


@pytest.mark.parametrize("provider, config, key, path", [
    ("vault", {"path": "secret", "version": "v2"}, "jx/adminUser", "secret/jx/adminUser"),
    ("vault", {"path": "secret", "version": "v2"}, "secret/data/jx/adminUser", "secret/jx/adminUser"),
    ("vault", {"path": "secret"}, "nexus", "secret/nexus"),  # ESO assumes KV v2
    ("openBao", {"path": "kv1", "version": "v1"}, "data/x", "kv1/data/x"),  # v1 has no data/ segment
    ("vault", {}, "secret/x", "secret/x"),  # no store path: the key's first segment is the mount
    ("kubernetes", {"remoteNamespace": "vault-data"}, "app-secret", "app-secret"),
])
def test_file_path(provider, config, key, path):
    assert file_path(provider, config, key) == path
