#!/usr/bin/env python3
"""The link graph of `crawl serve --pages N`, in small pages rendered on each request, for
bench/seen.sh.

  python3 bench/pagerserver.py PORT PAGES

crawl serve keeps every page it renders, about 19 KB each, so the million-page crawl that
measures crawl's bytes per seen URL would hold some 20 GB in the server. This server keeps
nothing: each page is a few hundred bytes with the same links as crawl serve's (a list page:
its 20 posts, the pager of previous, 1, two either side, the last and next, and the header's
/, /list/1.html and the last list; a post: the previous and next post and its list), so a
crawl seeded with /list/1.html meets the same URLs at the same depths. HTTP/1.1 with
keep-alive on 127.0.0.1 only; robots.txt allows everything.
"""
import asyncio
import sys

POSTS = 20


def header(pages):
    return f'<a href="/">home</a><a href="/list/1.html">latest</a><a href="/list/{pages}.html">oldest</a>'


def list_page(n, pages):
    out = [f"<!DOCTYPE html><html><head><title>list {n}</title></head><body>", header(pages)]
    out += [f'<a class="post-item-title" href="/post/{k}.html">post {k}</a>'
            for k in range((n - 1) * POSTS + 1, n * POSTS + 1)]
    low, high = max(n - 2, 1), min(n + 2, pages)
    pager = ([n - 1] if n > 1 else []) + ([1] if low > 1 else []) + [m for m in range(low, high + 1) if m != n]
    pager += ([pages] if high < pages else []) + ([n + 1] if n < pages else [])
    out += [f'<a href="/list/{m}.html">{m}</a>' for m in pager]
    return "".join(out) + "</body></html>"


def post_page(k, pages):
    out = [f"<!DOCTYPE html><html><head><title>post {k}</title></head><body>", header(pages)]
    if k > 1:
        out.append(f'<a href="/post/{k - 1}.html">prev</a>')
    if k < pages * POSTS:
        out.append(f'<a href="/post/{k + 1}.html">next</a>')
    out.append(f'<a href="/list/{(k - 1) // POSTS + 1}.html">back</a>')
    return "".join(out) + "</body></html>"


def route(path, pages):
    def number(prefix, most):
        digits = path[len(prefix):-len(".html")]
        if path.startswith(prefix) and path.endswith(".html") and digits.isdigit() and digits[0] != "0":
            if 1 <= int(digits) <= most:
                return int(digits)
        return None

    if path == "/":
        return 200, "text/html", f'<html><body><a href="/list/1.html">start</a></body></html>'
    if path == "/robots.txt":
        return 200, "text/plain", "User-agent: *\nAllow: /\n"
    n = number("/list/", pages)
    if n:
        return 200, "text/html", list_page(n, pages)
    k = number("/post/", pages * POSTS)
    if k:
        return 200, "text/html", post_page(k, pages)
    return 404, "text/html", "<html><body>not found</body></html>"


class Http(asyncio.Protocol):
    def __init__(self, pages):
        self.pages, self.buffer = pages, b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
            status, ctype, body = route(path, self.pages)
            body = body.encode()
            reason = "OK" if status == 200 else "Not Found"
            self.transport.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}; charset=utf-8\r\n"
                                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


async def main():
    port, pages = int(sys.argv[1]), int(sys.argv[2])
    server = await asyncio.get_running_loop().create_server(lambda: Http(pages), "127.0.0.1", port, backlog=1024)
    print(f"serving {pages} list pages on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
