"""When the tunnel's probe has read enough of Vault's answer: through the port-forward protocol the pod's close
never arrives, so waiting for it would cost every tunnel the probe's read timeout; and when the connection it
leaves open may carry the first local one."""

import pytest

from kubectl_jxsecret.tunnel import keeps_connection, whole_answer

HEALTH = (b'HTTP/1.0 200 OK\r\nCache-Control: no-store\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n'
          b'{"sealed":false}\n')


@pytest.mark.parametrize("answer, whole", [
    (HEALTH, True),
    (HEALTH[:-5], False),  # the body is not all there yet
    (HEALTH[:40], False),  # nor the headers
    (b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n", True),  # Go's TLS refusal
    (b"HTTP/1.0 400 Bad Request\r\n\r\n", False),  # its words may come in a second piece
    (b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n", True),
    (b"", False),
])
def test_whole_answer(answer, whole):
    assert whole_answer(answer) is whole


HEALTH_11 = HEALTH.replace(b"HTTP/1.0", b"HTTP/1.1")


@pytest.mark.parametrize("answer, keeps", [
    (HEALTH_11, True),  # the probe's stream then carries the first local connection
    (HEALTH, False),  # HTTP/1.0: the server closes
    (HEALTH_11[:-1], False),  # part of the body still on its way: it would reach the first local client
    (HEALTH_11 + b"HTTP/1.1", False),  # more than the body: the same
    (HEALTH_11.replace(b"Cache-Control: no-store", b"Connection: close"), False),
    (HEALTH_11.replace(b"Cache-Control: no-store", b"connection:  Close "), False),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", False),  # its end unknown here
    (b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n", False),
    (b"", False),
])
def test_keeps_connection(answer, keeps):
    assert keeps_connection(answer) is keeps
