"""Peak memory of `mtfcdd serve` under half-open connections and parallel image bombs.

    python experiments/serve_hostile_load.py MODEL.keras [--half-open 200] [--bombs 20]

Starts `mtfcdd serve MODEL --host 127.0.0.1 --port 0` in a child process,
then, against 127.0.0.1 only:

1. opens ``--half-open`` connections that each send the headers of a POST
   announcing a body and then nothing (a slow-loris client), and keeps them
   open;
2. while they are open, sends ``--bombs`` uploads at once from as many
   threads: half are a 64x64 progressive JPEG whose header says
   40000x40000 (refused by the header), half the same as a baseline JPEG
   (which the server decodes at 1/8, 5000x5000 pixels: the most costly
   image within the default limit of 25 megapixels);
3. checks that the server still answers ``GET /health``, closes everything
   and stops the server.

Prints, as JSON, the server's resident memory after start-up and its peak
(Linux's ``VmRSS`` and ``VmHWM`` of the child), the answers' statuses, and
the wall time. Bounded: a fixed number of connections and requests, every
socket with a timeout, the whole run at most ``--deadline`` seconds, after
which the server is stopped and the script exits.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

import cv2
import numpy as np

HOST = "127.0.0.1"
HEALTH = f"GET /health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()


def bomb(progressive):
    """A 64x64 noise JPEG whose start-of-frame says 40000x40000."""
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])[1].tobytes()
    frame = next(
        position for position in range(2, len(data) - 1)
        if data[position] == 0xFF and data[position + 1] in (0xC0, 0xC2)
    )
    return data[:frame + 5] + struct.pack(">HH", 40000, 40000) + data[frame + 9:]


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE).group(1))


def request(port, data, timeout):
    """The HTTP status of one raw request (None when the connection failed)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as connection:
            connection.sendall(data)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        return int(answer.split(b" ", 2)[1])
    except (OSError, IndexError, ValueError):
        return None


def upload(port, data, timeout):
    head = (f"POST /predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
    return request(port, head + data, timeout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a .keras model for mtfcdd serve")
    parser.add_argument("--half-open", type=int, default=200)
    parser.add_argument("--bombs", type=int, default=20)
    parser.add_argument("--deadline", type=float, default=300, help="seconds before everything stops")
    arguments = parser.parse_args()
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "mtfcdd", "serve", arguments.model, "--host", HOST, "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    half_open = []
    try:
        line = server.stdout.readline()
        port = int(re.search(r":(\d+)/", line).group(1))
        timeout = max(arguments.deadline - (time.monotonic() - started), 1)
        if request(port, HEALTH, timeout) != 200:
            raise SystemExit(f"the server did not answer GET /health: {line!r}")
        started_kib = memory_kib(server.pid, "VmRSS")
        for _ in range(arguments.half_open):
            connection = socket.create_connection((HOST, port), timeout=timeout)
            connection.sendall(f"POST /predict HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 100000\r\n\r\n".encode())
            half_open.append(connection)
        bombs = [bomb(progressive=index % 2 == 0) for index in range(arguments.bombs)]
        with concurrent.futures.ThreadPoolExecutor(arguments.bombs) as executor:
            statuses = list(executor.map(lambda data: upload(port, data, timeout), bombs))
        health = request(port, HEALTH, timeout)
        result = {
            "half_open_connections": arguments.half_open,
            "bomb_statuses": dict(collections.Counter(map(str, statuses))),
            "health_after": health,
            "rss_after_start_mib": round(started_kib / 1024, 1),
            "peak_rss_mib": round(memory_kib(server.pid, "VmHWM") / 1024, 1),
            "threads_at_end": thread_count(server.pid),
            "seconds": round(time.monotonic() - started, 1),
            "cpu": cpu_name(),
        }
        print(json.dumps(result, indent=2))
    finally:
        for connection in half_open:
            connection.close()
        server.terminate()
        server.wait(timeout=30)


def thread_count(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"^Threads:\s+(\d+)", status.read(), re.MULTILINE).group(1))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return re.search(r"^model name\s*:\s*(.*)$", cpuinfo.read(), re.MULTILINE).group(1)
    except (OSError, AttributeError):
        return "unknown"


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
