# HTTP latency at scale: run against a server seeded as docs/benchmarks.md describes (port 18085).
import http.client, time, sys, json
token = open('/tmp/bigplayer').read().split()[0]
conn = http.client.HTTPConnection('127.0.0.1', 18085)
def measure(path, n=2000):
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request('GET', path, headers={'Authorization': 'Bearer ' + token})
        r = conn.getresponse(); body = r.read()
        samples.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, body[:200]
    samples.sort()
    return samples[len(samples)//2], samples[int(len(samples)*0.99)], json.loads(body)
for path in ['/leaderboard/season0?around=me&limit=50', '/waitlist/status', '/leaderboard/season0?limit=50']:
    p50, p99, last = measure(path)
    extra = last['data'].get('my_rank') or last['data'].get('position')
    print(f'{path}: p50 {p50:.2f} ms, p99 {p99:.2f} ms (rank/position {extra})')
t = time.perf_counter()
conn.request('POST', '/waitlist/status', body=json.dumps({'admit': 10000}), headers={'Authorization': 'Bearer bigtoken', 'Content-Type': 'application/json'})
r = conn.getresponse(); body = json.loads(r.read())
print(f'admission wave of 10000: {(time.perf_counter()-t)*1000:.0f} ms, status {r.status}, admitted {body["data"]["count"]}, waiting {body["data"]["waiting_count"]}')
p50, p99, last = measure('/waitlist/status', 500)
print(f'/waitlist/status after the wave: p50 {p50:.2f} ms, p99 {p99:.2f} ms (position {last["data"]["position"]})')
