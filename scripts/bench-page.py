#!/usr/bin/env python3
# Page-load cost at scale (BENCHMARKS.md): the conversation list (bootstrap), the whole
# /chat page, and opening a direct message, for the internal staff member and for a guest
# of a `bench-seed --order-threads N` database, against a server on 127.0.0.1:4000.
# usage: scripts/bench-page.py SESSIONS.tsv   (reads SESSIONS.tsv.staff too)
import sys, time, urllib.request, urllib.parse, json
base = "http://127.0.0.1:4000"
def rows(path):
    return [l.split("\t") for l in open(path).read().split("\n") if l]
guests = rows(sys.argv[1])
staff = rows(sys.argv[1] + ".staff")[0]
def request(token, path, args=None):
    data = urllib.parse.urlencode(args).encode() if args is not None else None
    req = urllib.request.Request(base + path, data=data, headers={
        "Cookie": "parley_session=" + token, "Origin": base,
        "Content-Type": "application/x-www-form-urlencoded"})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        body = r.read()
    return (time.perf_counter() - t) * 1000, body
def measure(label, token, path, args=None, n=50):
    times = []
    for _ in range(n):
        ms, body = request(token, path, args)
        times.append(ms)
    times.sort()
    print(f"{label}: p50 {times[n//2]:.1f} ms, p95 {times[int(n*0.95)]:.1f} ms ({len(body)} bytes)")
    return body
for who, (token, user, _) in [("staff", staff), ("guest", guests[0])]:
    body = measure(f"{who}: conversation list (bootstrap)", token, "/api/bootstrap", {})
    listed = json.loads(body)["conversations"]
    threads = sum(1 for c in listed if c["kind"] == "order")
    print(f"  {who} lists {len(listed)} conversations, {threads} order threads")
    measure(f"{who}: GET /chat", token, "/chat", None, 20)
# A direct message from the staff member to a guest (created on the first call).
measure("staff: open a direct message", staff[0], "/api/open_direct", {"other": guests[0][1].strip()})
# A search looks through every thread the staff member may see, listed or not.
measure("staff: search (no match)", staff[0], "/api/search", {"query": "nowhere"}, 20)
