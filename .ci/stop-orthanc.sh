#!/usr/bin/env bash
# Stop the Orthanc that .ci/start-orthanc.sh started (by its pid) and delete its storage.
# Usage: .ci/stop-orthanc.sh  (reads SKINTRACK_TEST_ORTHANC_DIR)
set -uo pipefail
dir=${SKINTRACK_TEST_ORTHANC_DIR:-}
case "$dir" in
  /tmp/skintrack-orthanc.*) ;;
  *) exit 0 ;;
esac
if [ -f "$dir/pid" ]; then
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
fi
rm -rf "$dir"
