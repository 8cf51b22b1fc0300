"""worker: takes batches from its queue and logs each pass as a JSON line; --check is its liveness probe."""

import json
import os
import sys
import time

HEARTBEAT = "/tmp/worker-heartbeat"

if sys.argv[1:] == ["--check"]:
    age = time.time() - os.path.getmtime(HEARTBEAT) if os.path.exists(HEARTBEAT) else 1e9
    sys.exit(0 if age < 120 else 1)

queue, batch = os.environ.get("QUEUE", "orders"), int(os.environ.get("BATCH", "10"))
while True:
    print(json.dumps({"msg": "pass", "queue": queue, "batch": batch, "ts": time.time()}), flush=True)
    with open(HEARTBEAT, "w") as f:
        f.write(str(time.time()))
    time.sleep(30)
