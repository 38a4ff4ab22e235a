"""A gRPC-like stream of many small messages each way, over cleartext HTTP/2, for
bench/hostcalls/ab.py's `stream` kind (python-hyper's h2 library, bench/requirements.txt).

    python bench/h2stream.py origin --port P
        An upstream that answers every stream as a bidirectional gRPC echo does: response
        headers at once, one DATA frame back for every DATA frame received, then trailers
        (`grpc-status: 0`) when the request ends.

    python bench/h2stream.py client --port P --duration S [--connections C] [--messages N] [--size B]
        C connections, each running one stream after another for S seconds: POST /stream with an
        allowed Origin, N DATA frames of B bytes (each its own frame, as a gRPC message is), the
        end of the request, and the whole echo. Prints one JSON line: streams completed, frames
        sent and received, failures.

Through Envoy each DATA frame is one data callback of every filter on the way (HTTP/2 decodes
frame by frame), so N messages each way are 2 × N chances for a filter to be entered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, RequestReceived, ResponseReceived, StreamEnded, StreamReset, TrailersReceived

WINDOW = 2**31 - 1 - 65535  # so flow control never stalls the stream


def open_windows(conn: H2Connection) -> None:
    conn.update_settings({0x4: 2**31 - 1})  # SETTINGS_INITIAL_WINDOW_SIZE
    conn.increment_flow_control_window(WINDOW)


async def serve_origin(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = H2Connection(config=H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        open_windows(conn)
        writer.write(conn.data_to_send())
        try:
            while data := await reader.read(65536):
                for ev in conn.receive_data(data):
                    if isinstance(ev, RequestReceived):
                        conn.send_headers(ev.stream_id, [(":status", "200"), ("content-type", "application/grpc")])
                    elif isinstance(ev, DataReceived):
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                        if ev.data:
                            conn.send_data(ev.stream_id, ev.data)
                    elif isinstance(ev, StreamEnded):
                        conn.send_headers(ev.stream_id, [("grpc-status", "0")], end_stream=True)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def one_connection(port: int, deadline: float, messages: int, size: int, stats: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = H2Connection(config=H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    open_windows(conn)
    writer.write(conn.data_to_send())
    payload = b"\0" + (size - 5).to_bytes(4, "big") + b"m" * (size - 5)  # a gRPC-framed message
    headers = [
        (":method", "POST"), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"), (":path", "/stream"),
        ("origin", "https://app.example.com"), ("content-type", "application/grpc"), ("te", "trailers"),
    ]
    try:
        while time.monotonic() < deadline:
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, headers)
            for i in range(messages):
                conn.send_data(sid, payload, end_stream=i == messages - 1)
            writer.write(conn.data_to_send())
            stats["frames_sent"] += messages
            done = False
            while not done:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("connection closed")
                for ev in conn.receive_data(data):
                    if isinstance(ev, DataReceived) and ev.stream_id == sid:
                        conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                        stats["bytes_received"] += len(ev.data)
                    elif isinstance(ev, ResponseReceived):
                        if dict(ev.headers).get(":status") != "200":
                            stats["failed"] += 1
                    elif isinstance(ev, (StreamEnded, TrailersReceived)) and ev.stream_id == sid:
                        done = done or isinstance(ev, StreamEnded)
                    elif isinstance(ev, StreamReset):
                        stats["failed"] += 1
                        done = True
                writer.write(conn.data_to_send())
            stats["streams"] += 1
    finally:
        writer.close()


async def run_client(port: int, duration: float, connections: int, messages: int, size: int) -> dict[str, int | float]:
    stats = {"streams": 0, "frames_sent": 0, "bytes_received": 0, "failed": 0}
    t0 = time.monotonic()
    await asyncio.gather(*(one_connection(port, t0 + duration, messages, size, stats) for _ in range(connections)))
    stats["frames_received"] = stats["bytes_received"] // size
    return {**stats, "duration_us": (time.monotonic() - t0) * 1e6}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("origin")
    o.add_argument("--port", type=int, required=True)
    c = sub.add_parser("client")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--duration", type=float, required=True)
    c.add_argument("--connections", type=int, default=4)
    c.add_argument("--messages", type=int, default=100)
    c.add_argument("--size", type=int, default=64, help="bytes per message, its 5-byte gRPC prefix included")
    args = ap.parse_args()
    if args.cmd == "origin":
        asyncio.run(serve_origin(args.port))
        return 0
    print(json.dumps(asyncio.run(run_client(args.port, args.duration, args.connections, args.messages, args.size))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
