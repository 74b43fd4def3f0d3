#!/bin/bash
# qemu's iSCSI block driver (libiscsi, package qemu-block-extra) against stgtd: copy a random
# 64 MiB image onto a file LUN and back, compare; then qemu-io pattern write/read.
# Usage: qemu_test.sh STGTD_BINARY. Exit 77 (CTest SKIP_RETURN_CODE) when qemu tools are missing.
set -euo pipefail

stgtd=${1:?usage: $0 STGTD_BINARY}
iqn=iqn.2026-11.org.stgt.test:qemu
for tool in qemu-img qemu-io python3 cmp; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/stgt-qemu-XXXXXX")
pid=
cleanup() {
  status=$?
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 ]]; then
    echo "--- stgtd log ($dir/stgtd.log) ---"; cat "$dir/stgtd.log" 2>/dev/null || true
    echo "test files kept in $dir"
  else
    rm -rf "$dir"
  fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$dir/stgtd.toml" <<TOML
[daemon]
control_socket = "$dir/stgtd.sock"

[[portal]]
address = "127.0.0.1:$port"

[[target]]
iqn = "$iqn"

[[target.lun]]
id = 1
store = "file"
path = "$dir/lun1.img"
size = "64MiB"
block_size = 512

[[target.acl]]
initiator = "ALL"
TOML

"$stgtd" --config "$dir/stgtd.toml" 2>"$dir/stgtd.log" >&2 &
pid=$!
for _ in $(seq 200); do
  kill -0 "$pid" 2>/dev/null || { echo "FAIL: stgtd exited during start-up"; exit 1; }
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
url="iscsi://127.0.0.1:$port/$iqn/1"

head -c $((64 << 20)) /dev/urandom >"$dir/src.img"
qemu-img convert -f raw -O raw "$dir/src.img" "$url"
qemu-img convert -f raw -O raw "$url" "$dir/back.img"
cmp "$dir/src.img" "$dir/back.img"
echo "PASS: qemu-img round trip of 64 MiB"

out=$(qemu-io -f raw -c 'write -P 0xab 1M 4M' -c 'read -P 0xab 1M 4M' "$url")
echo "$out"
if grep -qi "fail\|error\|mismatch" <<<"$out"; then echo "FAIL: qemu-io"; exit 1; fi
echo "PASS: qemu-io pattern write/read"

kill -TERM "$pid"
wait "$pid" || { status=$?; [[ $status -eq 143 ]] || { echo "FAIL: stgtd exit status $status"; exit 1; }; }
pid=
