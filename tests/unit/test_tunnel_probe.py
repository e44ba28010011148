"""When the tunnel's probe has read enough of Vault's answer: through the forwarder the pod's close never
arrives, so waiting for it would cost every tunnel the probe's read timeout."""

import pytest

from kubectl_jxsecret.tunnel import whole_answer

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
