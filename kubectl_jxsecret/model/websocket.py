"""WebSocket frames (RFC 6455) as a client speaks them, and the Kubernetes port-forward channels carried in
them (subprotocol v4.channel.k8s.io, the kubelet's pkg/cri/streaming/portforward/websocket.go). No I/O:
kube/portforward.py moves the bytes.

A client masks every frame it sends; the server's frames come unmasked, in any pieces, a message possibly
fragmented, with control frames (close, ping, pong) allowed between the fragments.
"""

import base64
import hashlib
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
KNOWN_OPCODES = (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG)
NORMAL_CLOSURE = 1000
MAX_MESSAGE = 64 << 20  # a port-forward message is one read of the pod's socket (32 KiB in kubelet): far less


class ProtocolError(ValueError):
    """The server broke the WebSocket or channel protocol."""


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer to our Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode("ascii")


def unmasked(payload: bytes, mask: bytes) -> bytes:
    """`payload` XOR the 4-byte `mask` repeated (masking and unmasking are the same), at C speed."""
    if not payload:
        return payload
    key = (mask * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(len(payload), "little")


def client_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """One final frame as a client sends it: masked with the 4 random bytes `mask`."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + mask + unmasked(payload, mask)


def close_payload(code: int = NORMAL_CLOSURE) -> bytes:
    return struct.pack("!H", code)


def close_reason(payload: bytes) -> tuple[int | None, str]:
    """(status code, reason) of a close frame's payload; (None, "") when it has none."""
    if len(payload) < 2:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


class Decoder:
    """The server's messages out of the bytes of the connection, fed as they arrive: (opcode, payload) per
    whole message, a fragmented one joined (with the opcode of its first frame), control frames as they come."""

    def __init__(self):
        self.buffer = bytearray()
        self.fragments: list[bytes] = []
        self.fragmented_opcode = None  # the opcode of a message whose last fragment has not come yet
        self.fragmented_size = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buffer += data
        messages = []
        while (frame := self._frame()) is not None:
            final, opcode, payload = frame
            if message := self._message(final, opcode, payload):
                messages.append(message)
        return messages

    def _frame(self) -> tuple[bool, int, bytes] | None:
        """The next whole frame, taken from the buffer, or None until more bytes come."""
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        final, opcode, masked, size = bool(first & 0x80), first & 0x0F, bool(second & 0x80), second & 0x7F
        if first & 0x70:
            raise ProtocolError("a frame uses extension bits no extension was agreed for")
        if opcode not in KNOWN_OPCODES:
            raise ProtocolError(f"a frame has the unknown opcode {opcode:#x}")
        if opcode >= CLOSE and (not final or size > 125):
            raise ProtocolError("a control frame is fragmented or longer than 125 bytes")
        start = 2
        if size == 126:
            start, size = 4, struct.unpack("!H", buffer[2:4])[0] if len(buffer) >= 4 else None
        elif size == 127:
            start, size = 10, struct.unpack("!Q", buffer[2:10])[0] if len(buffer) >= 10 else None
        if size is None:
            return None
        if size > MAX_MESSAGE:
            raise ProtocolError(f"a frame of {size} bytes is larger than any port-forward message")
        end = start + (4 if masked else 0) + size
        if len(buffer) < end:
            return None
        payload = bytes(buffer[end - size:end])
        if masked:  # servers must not mask; unmasking costs nothing and hurts no one
            payload = unmasked(payload, bytes(buffer[start:start + 4]))
        del buffer[:end]
        return final, opcode, payload

    def _message(self, final: bool, opcode: int, payload: bytes) -> tuple[int, bytes] | None:
        if opcode >= CLOSE:
            return opcode, payload
        if opcode == CONTINUATION:
            if self.fragmented_opcode is None:
                raise ProtocolError("a continuation frame came with no message to continue")
        elif self.fragmented_opcode is not None:
            raise ProtocolError("a new message began before the last fragment of the one before")
        else:
            self.fragmented_opcode = opcode
        self.fragments.append(payload)
        self.fragmented_size += len(payload)
        if self.fragmented_size > MAX_MESSAGE:
            raise ProtocolError(f"a message of more than {MAX_MESSAGE} bytes is larger than any port-forward message")
        if not final:
            return None
        message = (self.fragmented_opcode, b"".join(self.fragments))
        self.fragments, self.fragmented_opcode, self.fragmented_size = [], None, 0
        return message


# ------------------------------------------------------------------------------------------ port-forward channels

PORT_FORWARD_PROTOCOL = "v4.channel.k8s.io"
DATA_CHANNEL, ERROR_CHANNEL = 0, 1  # of the first (here: the only) port


class PortChannels:
    """One forwarded port over binary messages whose first byte is the channel: 0 carries the data both ways,
    1 the server's error. The server starts each channel with the port, 2 bytes little-endian, before any
    data; the client sends its data with no such prefix."""

    def __init__(self, port: int):
        self.port = port
        self.prefixes = {DATA_CHANNEL: b"", ERROR_CHANNEL: b""}  # of each channel, until its 2 bytes are in

    @staticmethod
    def data_message(data: bytes) -> bytes:
        return bytes([DATA_CHANNEL]) + data

    def receive(self, message: bytes) -> tuple[int, bytes]:
        """(channel, what it carries) of a binary message from the server; b"" when it carried only the port."""
        if not message:
            raise ProtocolError("a message without a channel")
        channel, body = message[0], message[1:]
        if channel not in self.prefixes:
            raise ProtocolError(f"a message on channel {channel}, but one port has only channels 0 and 1")
        prefix = self.prefixes[channel]
        if len(prefix) < 2:
            taken = 2 - len(prefix)
            prefix, body = prefix + body[:taken], body[taken:]
            self.prefixes[channel] = prefix
            if len(prefix) == 2 and struct.unpack("<H", prefix)[0] != self.port:
                raise ProtocolError(f"channel {channel} is for port {struct.unpack('<H', prefix)[0]}, "
                                    f"not {self.port}")
        return channel, body
