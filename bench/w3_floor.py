"""The fewest latency rounds any crawler needs for the pages crawl recorded: robots.txt first,
then each page as soon as the page that led to it (its record's parent) has answered, with at
most SLOTS requests at once and every request taking one round. ceil(requests / SLOTS) assumes
every round is full; a site crawled from one seed starts with rounds of 1, 1 and a few dozen.

    python3 bench/w3_floor.py SLOTS < crawl-records.jsonl   -> prints the number of rounds
"""
import collections
import json
import sys

slots = int(sys.argv[1])
children = collections.defaultdict(list)
roots = []
for line in sys.stdin:
    record = json.loads(line)
    if record["parent"] is None:
        roots.append(record["url"])
    else:
        children[record["parent"]].append(record["url"])

rounds = 1  # robots.txt
ready = collections.deque(roots)
while ready:
    rounds += 1
    batch = [ready.popleft() for _ in range(min(slots, len(ready)))]
    for url in batch:
        ready.extend(children[url])
print(rounds)
