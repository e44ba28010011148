"""WebSocket frames (RFC 6455) and the Kubernetes port-forward channels in them: what the tunnel sends, and
what it makes of the server's bytes however they are cut."""

import struct

import pytest

from kubectl_jxsecret.model import websocket as ws

MASK = b"\x37\xfa\x21\x3d"


def server_frame(opcode, payload, final=True, mask=None):
    """A frame as a server sends it (unmasked unless `mask`)."""
    size = len(payload)
    first = (0x80 if final else 0) | opcode
    masked = 0x80 if mask else 0
    if size < 126:
        head = struct.pack("!BB", first, masked | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, masked | 126, size)
    else:
        head = struct.pack("!BBQ", first, masked | 127, size)
    return head + (mask + ws.unmasked(payload, mask) if mask else payload)


def test_accept_key_of_the_rfc_example():
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 section 1.3


@pytest.mark.parametrize("opcode, payload, expected", [
    # RFC 6455 5.7: a masked "Hello" (mask 37 fa 21 3d)
    (ws.TEXT, b"Hello", bytes.fromhex("818537fa213d7f9f4d5158")),
    (ws.BINARY, b"", bytes.fromhex("828037fa213d")),
    (ws.CLOSE, b"\x03\xe8", bytes.fromhex("888237fa213d3412")),
])
def test_client_frame(opcode, payload, expected):
    assert ws.client_frame(opcode, payload, MASK) == expected


@pytest.mark.parametrize("size, length_field", [
    (125, bytes([0x80 | 125])),
    (126, bytes([0x80 | 126]) + struct.pack("!H", 126)),
    (65535, bytes([0x80 | 126]) + struct.pack("!H", 65535)),
    (65536, bytes([0x80 | 127]) + struct.pack("!Q", 65536)),
])
def test_client_frame_length_forms(size, length_field):
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    frame = ws.client_frame(ws.BINARY, payload, MASK)
    assert frame[1:1 + len(length_field)] == length_field
    assert frame[1 + len(length_field):5 + len(length_field)] == MASK
    assert ws.unmasked(frame[5 + len(length_field):], MASK) == payload


@pytest.mark.parametrize("frames, messages", [
    ([server_frame(ws.BINARY, b"\x00abc")], [(ws.BINARY, b"\x00abc")]),
    ([server_frame(ws.BINARY, b"x" * 126)], [(ws.BINARY, b"x" * 126)]),
    ([server_frame(ws.BINARY, b"y" * 70000)], [(ws.BINARY, b"y" * 70000)]),
    # a fragmented message is joined, with the opcode of its first frame; a ping between fragments comes at once
    ([server_frame(ws.BINARY, b"\x00ab", final=False), server_frame(ws.PING, b"hi"),
      server_frame(ws.CONTINUATION, b"cd", final=False), server_frame(ws.CONTINUATION, b"ef")],
     [(ws.PING, b"hi"), (ws.BINARY, b"\x00abcdef")]),
    ([server_frame(ws.BINARY, b"one"), server_frame(ws.BINARY, b"two")], [(ws.BINARY, b"one"), (ws.BINARY, b"two")]),
    ([server_frame(ws.CLOSE, b"\x03\xe8bye")], [(ws.CLOSE, b"\x03\xe8bye")]),
    ([server_frame(ws.BINARY, b"masked", mask=MASK)], [(ws.BINARY, b"masked")]),  # unmasked, though servers must not
    ([server_frame(ws.BINARY, b"")], [(ws.BINARY, b"")]),
])
def test_decoder_messages_whole_and_byte_by_byte(frames, messages):
    data = b"".join(frames)
    assert ws.Decoder().feed(data) == messages
    decoder = ws.Decoder()
    assert [m for i in range(len(data)) for m in decoder.feed(data[i:i + 1])] == messages


def test_decoder_waits_for_the_rest_of_a_frame():
    decoder = ws.Decoder()
    frame = server_frame(ws.BINARY, b"z" * 300)
    assert decoder.feed(frame[:3]) == []  # not even the 16-bit length is all there
    assert decoder.feed(frame[3:100]) == []
    assert decoder.feed(frame[100:] + frame[:1]) == [(ws.BINARY, b"z" * 300)]  # and the next frame's first byte kept
    assert decoder.feed(frame[1:]) == [(ws.BINARY, b"z" * 300)]


@pytest.mark.parametrize("data, problem", [
    (bytes([0x80 | 0x40 | ws.BINARY, 0]), "extension bits"),
    (bytes([0x80 | 0x3, 0]), "unknown opcode 0x3"),
    (bytes([0x80 | 0xB, 0]), "unknown opcode 0xb"),
    (bytes([ws.PING, 0]), "control frame is fragmented"),
    (bytes([0x80 | ws.PING, 126]) + struct.pack("!H", 126) + b"p" * 126, "longer than 125 bytes"),
    (server_frame(ws.CONTINUATION, b"x"), "no message to continue"),
    (server_frame(ws.TEXT, b"a", final=False) + server_frame(ws.BINARY, b"b"), "a new message began"),
    (bytes([0x80 | ws.BINARY, 127]) + struct.pack("!Q", 1 << 40), "larger than any port-forward message"),
])
def test_decoder_refuses_what_breaks_the_protocol(data, problem):
    with pytest.raises(ws.ProtocolError, match=problem):
        ws.Decoder().feed(data)


@pytest.mark.parametrize("payload, reason", [
    (b"\x03\xe8", (1000, "")),
    (b"\x03\xf3going away", (1011, "going away")),
    (b"", (None, "")),
])
def test_close_reason(payload, reason):
    assert ws.close_reason(payload) == reason


def test_close_payload_is_the_normal_closure():
    assert ws.close_payload() == b"\x03\xe8"


# ------------------------------------------------------------------------------------------ port-forward channels

PORT_8200 = struct.pack("<H", 8200)  # b"\x08\x20"


@pytest.mark.parametrize("messages, received", [
    # as the kubelet (and kwok) send it: each channel's port first, alone, then data or an error
    ([b"\x00" + PORT_8200, b"\x01" + PORT_8200, b"\x00HTTP/1.1 200 OK"],
     [(0, b""), (1, b""), (0, b"HTTP/1.1 200 OK")]),
    ([b"\x00" + PORT_8200, b"\x01" + PORT_8200, b"\x01error forwarding port 8200"],
     [(0, b""), (1, b""), (1, b"error forwarding port 8200")]),
    # the port and data in one message, or the port in two pieces: only the first 2 bytes are the port
    ([b"\x00" + PORT_8200 + b"data"], [(0, b"data")]),
    ([b"\x00\x08", b"\x00\x20more"], [(0, b""), (0, b"more")]),
    ([b"\x00" + PORT_8200, b"\x00" + PORT_8200], [(0, b""), (0, PORT_8200)]),  # later ones are data
])
def test_channels_strip_each_channels_port(messages, received):
    channels = ws.PortChannels(8200)
    assert [channels.receive(m) for m in messages] == received


@pytest.mark.parametrize("message, problem", [
    (b"", "without a channel"),
    (b"\x02" + PORT_8200, "channel 2"),
    (b"\x00" + struct.pack("<H", 9999), "channel 0 is for port 9999, not 8200"),
])
def test_channels_refuse_what_one_port_cannot_carry(message, problem):
    with pytest.raises(ws.ProtocolError, match=problem):
        ws.PortChannels(8200).receive(message)


def test_data_goes_on_channel_0_without_the_port():
    assert ws.PortChannels.data_message(b"GET / HTTP/1.1\r\n") == b"\x00GET / HTTP/1.1\r\n"


# ------------------------------------------------------------------------------------------ the upgrade's answer

def test_101_is_the_answer_to_an_upgrade_other_1xx_are_skipped():
    import io

    from kubectl_jxsecret.kube.http1 import read_head

    fp = io.BytesIO(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
                    b"\x82\x03\x00\x08\x20")
    status, _, headers = read_head(fp)
    assert (status, headers.get("Upgrade")) == (101, "websocket")
    assert fp.read() == b"\x82\x03\x00\x08\x20"  # the new protocol's first frame, left for its reader


@pytest.mark.parametrize("behind_the_answer", [b"\x82\x03\x00\x08\x20", b""])
def test_detach_hands_over_what_the_reader_took_past_the_answer(behind_the_answer):
    import socket

    from kubectl_jxsecret.kube.http1 import Answer, Connection

    ours, server = socket.socketpair()
    with ours, server:
        connection = Connection(("127.0.0.1", 0), None)
        connection.sock, connection.fp = ours, ours.makefile("rb")
        server.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n" + behind_the_answer)
        assert Answer(connection.fp, "GET").status == 101
        sock, early = connection.detach()
        assert (sock, early, connection.sock) == (ours, behind_the_answer, None)
        server.sendall(b"later")
        assert sock.recv(16) == b"later"  # still open, and blocking


# ------------------------------------------------------------------------------------------ a stream's control frames

def client_messages(data):
    """(opcode, unmasked payload) of the frames a client sent, checking each is final and masked."""
    messages = []
    while data:
        assert data[0] & 0x80 and data[1] & 0x80  # final, masked
        size, start = data[1] & 0x7F, 2
        if size == 126:
            size, start = struct.unpack("!H", data[2:4])[0], 4
        mask, payload = data[start:start + 4], data[start + 4:start + 4 + size]
        messages.append((data[0] & 0x0F, ws.unmasked(payload, mask)))
        data = data[start + 4 + size:]
    return messages


def test_a_stream_answers_pings_and_the_servers_close():
    """What kwok never sends, a server may: a ping is answered at once, a close in kind; data around them flows."""
    import socket

    from kubectl_jxsecret.kube.portforward import PodStream

    ours, server = socket.socketpair()
    with ours, server:
        stream = PodStream(ours, server_frame(ws.BINARY, b"\x00" + PORT_8200), 8200)  # the port, behind the 101
        server.sendall(server_frame(ws.BINARY, b"\x01" + PORT_8200) + server_frame(ws.PING, b"still there?")
                       + server_frame(ws.BINARY, b"\x00answer"))
        received = b""
        while len(received) < len(b"answer"):
            received += stream.receive()
        stream.send(b"request")
        server.sendall(server_frame(ws.CLOSE, ws.close_payload(1001)))
        assert stream.receive() is None
        assert (received, stream.ended, stream.receive()) == (b"answer", True, None)
        ours.shutdown(socket.SHUT_WR)
        sent = b"".join(iter(lambda: server.recv(4096), b""))
    assert client_messages(sent) == [(ws.PONG, b"still there?"), (ws.BINARY, b"\x00request"),
                                     (ws.CLOSE, ws.close_payload(1001))]
