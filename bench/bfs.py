# Reference breadth-first walk of a[href] links on one host, for bench/blog-a-check.sh.
import sys, urllib.request, urllib.parse, collections
from html.parser import HTMLParser
class A(HTMLParser):
    def __init__(s): super().__init__(); s.links=[]
    def handle_starttag(s, t, a):
        if t == "a":
            for k, v in a:
                if k == "href" and v is not None: s.links.append(v)
def norm(u):
    u = urllib.parse.urldefrag(u)[0]
    p = urllib.parse.urlsplit(u)
    path = urllib.parse.quote(urllib.parse.unquote(p.path), safe="/%:@!$&'()*+,;=-._~")
    return urllib.parse.urlunsplit((p.scheme.lower(), p.netloc.lower(), path or "/", p.query, ""))
start = sys.argv[1]; host = urllib.parse.urlsplit(start).netloc
seen = {norm(start)}; q = collections.deque([norm(start)]); ok = 0; fail = 0
while q:
    u = q.popleft()
    try:
        r = urllib.request.urlopen(u); body = r.read().decode("utf-8", "replace"); ok += 1
        if "html" not in r.headers.get("Content-Type", ""): continue
    except Exception as e:
        fail += 1; continue
    a = A(); a.feed(body)
    for l in a.links:
        v = norm(urllib.parse.urljoin(u, l.strip()))
        if urllib.parse.urlsplit(v).scheme in ("http", "https") and urllib.parse.urlsplit(v).netloc == host and v not in seen:
            seen.add(v); q.append(v)
print(len(seen), "reachable;", ok, "ok,", fail, "failed", file=sys.stderr)
for u in sorted(seen): print(u)
