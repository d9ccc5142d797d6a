"""``AdbDaemon``: the device side of adb's transport protocol over TCP, for the virtual phone.

The host (the ``adb`` server) connects to us as to a phone in ``adb tcpip`` mode, so after
``adb connect 127.0.0.1:PORT`` the daemon is an ordinary device to ``adb`` and ``adbutils``.

Packets are a 24-byte little-endian header and a payload::

    command, arg0, arg1, data_length, data_checksum, magic (= command ^ 0xffffffff)

* ``CNXN(version, maxdata, banner)``: the host opens a connection; we answer with our own
  CNXN and no authentication. The banner is ``device:<serialno>:<key=value;...>``; the host
  reads ``ro.product.*`` and ``features`` from it. Each side sends payloads no larger than
  the other's ``maxdata``. From version 0x01000001 the checksum (a byte sum, despite its
  ``crc32`` name in protocol.txt) is 0 and unchecked.
* ``OPEN(host_id, 0, "service\\0")`` opens a stream; we answer ``OKAY(our_id, host_id)``,
  or ``CLSE(0, host_id)`` to refuse the service.
* ``WRTE(sender_id, receiver_id, data)`` carries data; the receiver answers ``OKAY`` and the
  sender sends nothing more on that stream until it has (one packet in flight per stream).
* ``CLSE(sender_id, receiver_id)`` closes a stream.

Services: ``shell:CMD`` (stdout and stderr on one socket, no exit code), ``shell,v2,...:CMD``
(the shell protocol: packets of a 1-byte id, a 4-byte little-endian length and data; ids 1
stdout, 2 stderr, 3 exit code; ids 0, 4, 5 come from the host and are ignored here),
``exec:CMD`` (raw, binary-safe, stderr on the same socket as stdout, as adbd's raw
subprocesses have it) and ``sync:`` (``envs.sim.sync``: adb pull, push, ls). Anything else
(``reboot:``, ``tcpip:``, ...) is refused.

Each stream's handler runs in its own thread, so a slow screenshot never stalls the reader
that acknowledges the host's packets; writes to a socket are serialized by a lock.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Sequence
from types import TracebackType

from qvl_agent.envs.sim.adb_packets import (
    EMULATOR_PORTS, HEADER, A_VERSION, MAX_PAYLOAD, ShellHandler, ShellResult, chunks, Command,
    Framing, packet, parse_service, ProtocolError, Request,
)
from qvl_agent.envs.sim.sync import FileService, serve_sync

__all__ = ["AdbDaemon", "ShellHandler", "ShellResult"]

logger = logging.getLogger(__name__)

class _Stream:
    """One open service on a connection, seen from our side."""

    def __init__(self, local_id: int, remote_id: int) -> None:
        self.local_id = local_id
        self.remote_id = remote_id
        self.closed = False
        self._can_write = True
        self._changed = threading.Condition()
        self._inbox = bytearray()           # what the host wrote (a sync conversation)

    def feed(self, data: bytes) -> None:
        with self._changed:
            self._inbox += data
            self._changed.notify_all()

    def read(self, size: int) -> bytes | None:
        """The host's next ``size`` bytes; None once the stream closed before they came."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._inbox) >= size or self.closed)
            if len(self._inbox) < size:
                return None
            data = bytes(self._inbox[:size])
            del self._inbox[:size]
            return data

    def acknowledged(self) -> None:
        with self._changed:
            self._can_write = True
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def take_turn(self) -> bool:
        """Wait until the host has acknowledged our last WRTE; False once the stream is closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._can_write or self.closed)
            self._can_write = False
            return not self.closed


class _Connection:
    """One host connection: a reader thread, plus one thread per open stream."""

    def __init__(self, sock: socket.socket, *, run: Callable[[str], ShellResult],
                 banner: bytes, on_close: Callable[[_Connection], None],
                 files: FileService | None = None) -> None:
        self._sock = sock
        self._run = run
        self._files = files
        self._banner = banner
        self._on_close = on_close
        self._write_lock = threading.Lock()
        self._streams: dict[int, _Stream] = {}
        self._streams_lock = threading.Lock()
        self._next_id = 1
        self._send_limit = 4096        # until the host tells us its maxdata
        self._checksums = True         # until the host says it skips them
        self._online = False
        self.peer = "%s:%d" % sock.getpeername()[:2]

    def serve(self) -> None:
        """Read and dispatch packets until the host or ``close`` ends the connection."""
        try:
            while (packet := self._read_packet()) is not None:
                self._dispatch(*packet)
        except ProtocolError as exc:
            logger.warning("adbd: dropping connection from %s: %s", self.peer, exc)
        except OSError as exc:
            logger.debug("adbd: connection from %s ended: %s", self.peer, exc)
        finally:
            self.close()

    def close(self) -> None:
        """Close the socket and every stream; the host sees the device go offline."""
        with self._streams_lock:
            streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            stream.close()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)   # wakes our reader blocked in recv
        except OSError:
            pass
        self._sock.close()
        self._on_close(self)

    def _read_exact(self, size: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < size:
            chunk = self._sock.recv(size - len(buf))
            if not chunk:
                if buf:
                    raise ProtocolError(f"connection closed {len(buf)} bytes into {size}")
                return None
            buf += chunk
        return bytes(buf)

    def _read_packet(self) -> tuple[int, int, int, bytes] | None:
        header = self._read_exact(HEADER.size)
        if header is None:
            return None
        # The checksum is not checked: adb stopped relying on it with version 0x01000001.
        command, arg0, arg1, length, _checksum, magic = HEADER.unpack(header)
        if magic != command ^ 0xFFFFFFFF:
            raise ProtocolError(f"bad magic in packet header {header.hex()}")
        if length > MAX_PAYLOAD:
            raise ProtocolError(f"payload of {length} bytes exceeds maxdata {MAX_PAYLOAD}")
        payload = self._read_exact(length) if length else b""
        if payload is None:
            raise ProtocolError("connection closed before a packet's payload")
        return command, arg0, arg1, payload

    def _send(self, command: Command, arg0: int, arg1: int, payload: bytes = b"") -> None:
        data = packet(command, arg0, arg1, payload, checksum=self._checksums)
        with self._write_lock:
            self._sock.sendall(data)

    def _dispatch(self, command: int, arg0: int, arg1: int, payload: bytes) -> None:
        if command != Command.CNXN and not self._online:
            raise ProtocolError(f"packet {command:#x} before CNXN")
        # Packets for a stream we already closed are normal (the host's CLSE crosses ours).
        match command:
            case Command.CNXN:
                self._connect(arg0, arg1, payload)
            case Command.OPEN:
                self._open(arg0, payload)
            case Command.OKAY:
                if stream := self._stream(arg1):
                    stream.acknowledged()
            case Command.WRTE:
                # A sync request, or a shell's stdin and window sizes (which nothing reads);
                # either way the host waits for our OKAY.
                if stream := self._stream(arg1):
                    stream.feed(payload)
                    self._send(Command.OKAY, stream.local_id, stream.remote_id)
            case Command.CLSE:
                with self._streams_lock:
                    stream = self._streams.pop(arg1, None)
                if stream:
                    stream.close()
            case _:     # AUTH, STLS, SYNC: never needed by a host we answer without auth
                logger.debug("adbd: ignoring packet %#x from %s", command, self.peer)

    def _connect(self, version: int, maxdata: int, banner: bytes) -> None:
        logger.debug("adbd: CNXN from %s: version %#x maxdata %d banner %r",
                     self.peer, version, maxdata, banner)
        if maxdata < 64:
            raise ProtocolError(f"host maxdata {maxdata} is too small")
        self._checksums = version < A_VERSION
        self._send_limit = min(maxdata, MAX_PAYLOAD)
        self._online = True
        self._send(Command.CNXN, A_VERSION, MAX_PAYLOAD, self._banner)

    def _open(self, remote_id: int, payload: bytes) -> None:
        # surrogateescape keeps any byte the host sent, so the command line arrives unchanged.
        name = payload.rstrip(b"\0").decode("utf-8", errors="surrogateescape")
        request = parse_service(name)
        if request is not None and request.framing is Framing.SYNC and self._files is None:
            request = None
        if request is None or remote_id == 0:
            logger.info("adbd: refusing service %r", name)
            self._send(Command.CLSE, 0, remote_id)
            return
        with self._streams_lock:
            stream = _Stream(self._next_id, remote_id)
            self._streams[stream.local_id] = stream
            self._next_id += 1
        self._send(Command.OKAY, stream.local_id, remote_id)
        threading.Thread(target=self._run_stream, args=(stream, request),
                         name=f"adbd-stream-{stream.local_id}", daemon=True).start()

    def _stream(self, local_id: int) -> _Stream | None:
        with self._streams_lock:
            return self._streams.get(local_id)

    def _write(self, stream: _Stream, data: bytes) -> None:
        """WRTE ``data`` in pieces the host accepts, one acknowledged packet at a time."""
        for start in range(0, len(data), self._send_limit):
            if not stream.take_turn():
                raise _Closed
            self._send(Command.WRTE, stream.local_id, stream.remote_id,
                       data[start:start + self._send_limit])

    def _run_stream(self, stream: _Stream, request: Request) -> None:
        try:
            if request.framing is Framing.SYNC:
                assert self._files is not None
                serve_sync(self._files, stream.read, lambda data: self._write(stream, data))
            else:
                result = self._run(request.command)
                for chunk in chunks(result, request.framing, self._send_limit):
                    if not stream.take_turn():
                        return      # the host closed the stream; it no longer wants the output
                    self._send(Command.WRTE, stream.local_id, stream.remote_id, chunk)
            if stream.take_turn():      # the last WRTE is acknowledged before we close
                with self._streams_lock:
                    self._streams.pop(stream.local_id, None)
                stream.close()
                self._send(Command.CLSE, stream.local_id, stream.remote_id)
        except _Closed:
            return
        except OSError as exc:
            logger.debug("adbd: stream %d lost its connection: %s", stream.local_id, exc)


class _Closed(Exception):
    """The host closed a stream we were writing to."""


class AdbDaemon:
    """Device side of the adb transport over TCP, bound to 127.0.0.1 only.

    Args:
        shell: runs each ``shell:``/``exec:`` command line and returns its result.
        port: where to listen; 0 picks a free port outside 5555-5585.
        serialno: the phone's serial number, sent in the connection banner.
        model: ``ro.product.model``, shown by ``adb devices -l``.
        product, device: ``ro.product.name`` and ``ro.product.device``, shown there too.
        features: what the phone says it supports; ``shell_v2`` lets hosts use exit codes.
        files: the phone's files for the ``sync:`` service (None: ``sync:`` is refused).

    Raises:
        ValueError: a port the adb server would claim as an emulator, or a banner field
            holding one of ``:;=,``.
    """

    def __init__(self, shell: ShellHandler, *, port: int = 0, serialno: str = "qvl-sim",
                 model: str = "QVL Virtual Phone", product: str = "qvl_sim",
                 device: str = "qvl_sim",
                 features: Sequence[str] = ("shell_v2", "cmd"),
                 files: FileService | None = None) -> None:
        if port in EMULATOR_PORTS:
            raise ValueError(f"port {port} is in 5555-5585, where the adb server looks for "
                             "emulators; pick another one or 0")
        for field in (serialno, model, product, device, *features):
            if any(c in field for c in ":;=,\0"):
                raise ValueError(f"{field!r} cannot go in an adb banner: it holds one of ':;=,'")
        if "delayed_ack" in features:
            raise ValueError("the delayed_ack feature is not implemented by this daemon")
        self._shell = shell
        self._files = files
        self._requested_port = port
        self._serialno = serialno
        self._model = model
        self._product = product
        self._device = device
        self._features = tuple(features)
        self._listener: socket.socket | None = None
        self._port: int | None = None
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The TCP port the daemon listens on (known once started, kept after ``stop``)."""
        if self._port is None:
            raise RuntimeError("AdbDaemon is not started")
        return self._port

    @property
    def serial(self) -> str:
        """The serial the adb server gives this phone after ``adb connect``."""
        return f"127.0.0.1:{self.port}"

    def _banner(self) -> bytes:
        """The identity string sent in our CNXN (no trailing NUL: adb 29 would keep it)."""
        props = {"ro.product.name": self._product, "ro.product.model": self._model,
                 "ro.product.device": self._device, "features": ",".join(self._features)}
        return (f"device:{self._serialno}:"
                + ";".join(f"{k}={v}" for k, v in props.items())).encode()

    def start(self) -> None:
        """Listen on 127.0.0.1 and serve connections in background threads."""
        if self._listener is not None:
            raise RuntimeError("AdbDaemon is already started")
        self._listener = self._bind()
        self._port = self._listener.getsockname()[1]
        self._listener.listen()
        threading.Thread(target=self._accept_loop, args=(self._listener,),
                         name=f"adbd-accept-{self.port}", daemon=True).start()
        logger.info("adbd: listening on %s", self.serial)

    def stop(self) -> None:
        """Stop listening and close every connection. Safe to call twice."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)     # wakes the thread blocked in accept
            except OSError:
                pass
            listener.close()
        self.drop_connections()

    def drop_connections(self) -> None:
        """Close live connections but keep listening, like a pulled cable or an adbd restart."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def _run_command(self, command: str) -> ShellResult:
        """Run the handler; its failure is reported to the host as exit 255, not raised."""
        if not command:
            return ShellResult(1, b"", b"qvl-sim: the virtual phone has no interactive shell; "
                                       b"give a command, e.g. adb shell ls\n")
        try:
            return self._shell(command)
        except Exception as exc:   # the handler is someone else's code; the phone keeps going
            logger.exception("adbd: shell handler failed on %r", command)
            return ShellResult(255, b"", f"qvl-sim: {type(exc).__name__}: {exc}\n".encode())

    def _bind(self) -> socket.socket:
        rejected: list[socket.socket] = []
        try:
            while True:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", self._requested_port))
                if sock.getsockname()[1] not in EMULATOR_PORTS:
                    return sock
                rejected.append(sock)   # held open so the next bind gets another port
        finally:
            for sock in rejected:
                sock.close()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return      # stop() closed the listener
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # many tiny OKAYs
                connection = _Connection(sock, run=self._run_command, banner=self._banner(),
                                         on_close=self._forget, files=self._files)
            except OSError:     # the host hung up at once
                sock.close()
                continue
            with self._lock:
                self._connections.add(connection)
            if self._listener is not listener:  # stop() ran meanwhile and missed this one
                connection.close()
                return
            logger.info("adbd: host connected from %s", connection.peer)
            threading.Thread(target=connection.serve, name=f"adbd-conn-{connection.peer}",
                             daemon=True).start()

    def _forget(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    def __enter__(self) -> AdbDaemon:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
