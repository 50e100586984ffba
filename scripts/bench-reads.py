#!/usr/bin/env python3
# Read latencies through the server functions (BENCHMARKS.md): history pages and searches as
# the first user of a bench-seed sessions file, against a server on 127.0.0.1:4000.
# usage: scripts/bench-reads.py SESSIONS.tsv
import sys, time, urllib.request, urllib.parse, statistics, json
base = "http://127.0.0.1:4000"
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
# a sender's room (the first 64 rooms got the messages): first user of the file
token, user, conv = rows[0][0], rows[0][1], rows[0][2].strip()
def call(endpoint, args):
    data = urllib.parse.urlencode(args).encode()
    req = urllib.request.Request(base + "/api/" + endpoint, data=data, headers={
        "Cookie": "parley_session=" + token, "Origin": base,
        "Content-Type": "application/x-www-form-urlencoded"})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        body = r.read()
    return (time.perf_counter() - t) * 1000, body
def measure(label, endpoint, args, n=200):
    times = []
    for _ in range(n):
        ms, body = call(endpoint, args)
        times.append(ms)
    times.sort()
    print(f"{label}: p50 {times[n//2]:.1f} ms, p95 {times[int(n*0.95)]:.1f} ms ({len(body)} bytes)")
_, first = call("history", {"conversation_id": conv})
page = json.loads(first)
print("messages in the room:", page["messages"][-1]["seq"])
measure("history, newest page", "history", {"conversation_id": conv})
measure("history, page before seq 1000", "history", {"conversation_id": conv, "before": "1000"})
measure("search 'durable' (every message matches)", "search", {"query": "durable"}, 50)
measure("search 'nowhere' (no match)", "search", {"query": "nowhere"})
measure("search from:nobody", "search", {"query": "from:nobody durable"})
