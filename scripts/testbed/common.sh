# Shared by the test-bed scripts: where things are cached and where a running bed keeps its state.
# shellcheck shell=bash
PAVED_CACHE=${PAVED_CACHE:-$HOME/.cache/paved}
PAVED_BED_STATE=${PAVED_BED_STATE:-$PAVED_CACHE/bed}
PAVED_VENV=$PAVED_CACHE/venv
PAVED_NPM=$PAVED_CACHE/npm
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[testbed] %s\n' "$*" >&2; }

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until something accepts connections on 127.0.0.1:$1, or fail after $2 seconds.
wait_port() {
  local port=$1 limit=$2 name=$3 waited=0
  until python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; do
    sleep 0.5
    waited=$((waited + 1))
    if [ $((waited / 2)) -ge "$limit" ]; then
      log "$name did not open port $port within ${limit}s"
      return 1
    fi
  done
}
