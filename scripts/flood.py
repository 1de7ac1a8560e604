#!/usr/bin/env python3
"""A connection flood for admission tests (docs/security.md#admission-under-a-flood).

Opens --connections TCP connections from --source to --target and keeps them open without sending
a byte (the cheapest attack on a TLS server: every connection waits for a ClientHello). Whenever
the server closes one, it is opened again, so the pressure stays at --connections for --duration
seconds (or until SIGTERM/SIGINT). --ready-file is written once --connections connections were opened (the server may have closed
some of them already). Prints one JSON summary line at the end: connections opened,
how many the server closed (refused or timed out), the most held open at once.

  scripts/flood.py --target 127.0.0.1:7443 --source 127.0.0.2 --connections 4500 --duration 60

Loopback: every address in 127.0.0.0/8 is local on Linux, so 127.0.0.2 is a second source address
without any set-up. Raises its own open-file limit to the hard limit (4,500 connections need
more than the usual 1,024).
"""
import argparse
import errno
import json
import resource
import selectors
import signal
import socket
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", required=True, help="HOST:PORT of the server")
    p.add_argument("--source", default="127.0.0.2", help="source address (default 127.0.0.2)")
    p.add_argument("--connections", type=int, default=4500, help="held at once (default 4500)")
    p.add_argument("--duration", type=float, default=60, help="seconds (default 60)")
    p.add_argument("--rate", type=int, default=2000,
                   help="new connections per second at most (default 2000)")
    p.add_argument("--ready-file", help="written once the first --connections were opened")
    a = p.parse_args()
    host, _, port = a.target.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        p.error(f"--target must be HOST:PORT, got '{a.target}'")
    if a.connections < 1 or a.duration <= 0 or a.rate < 1:
        p.error("--connections, --duration and --rate must be positive")
    a.host, a.port = host, int(port)
    return a


def main():
    a = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.connections + 64
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < want:
            print(f"flood.py: open-file limit {hard} < {want}; holding at most {new - 64}",
                  file=sys.stderr)
            a.connections = new - 64

    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "closed_by_server": 0, "connect_errors": 0, "peak_open": 0}
    open_now = 0
    ready_written = False
    end = time.monotonic() + a.duration
    budget, last = 0.0, time.monotonic()

    def open_one():
        nonlocal open_now
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((a.source, 0))
            err = s.connect_ex((a.host, a.port))
        except OSError as e:
            err = e.errno
        if err not in (0, errno.EINPROGRESS):
            stats["connect_errors"] += 1
            s.close()
            return
        sel.register(s, selectors.EVENT_READ)
        open_now += 1
        stats["opened"] += 1
        stats["peak_open"] = max(stats["peak_open"], open_now)

    while not stop and time.monotonic() < end:
        now = time.monotonic()
        budget = min(budget + (now - last) * a.rate, a.rate)
        last = now
        while open_now < a.connections and budget >= 1:
            open_one()
            budget -= 1
        if not ready_written and stats["opened"] >= a.connections and a.ready_file:
            with open(a.ready_file, "w") as f:
                f.write(json.dumps(stats) + "\n")
            ready_written = True
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # closed (or reset) by the server: refused or timed out
                sel.unregister(s)
                s.close()
                open_now -= 1
                stats["closed_by_server"] += 1
    stats["open_at_end"] = open_now
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
