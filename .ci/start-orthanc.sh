#!/usr/bin/env bash
# Start a throw-away Orthanc PACS (Debian's `orthanc` + `orthanc-dicomweb`) on 127.0.0.1 for the tests
# and print its addresses.
# Usage: eval "$(.ci/start-orthanc.sh)"
#   exports SKINTRACK_TEST_ORTHANC_URL   http://skintrack:<password>@127.0.0.1:<http port>  (REST + /dicom-web/)
#           SKINTRACK_TEST_ORTHANC_DICOM ORTHANC@127.0.0.1:<dicom port>                     (C-STORE, C-FIND)
#           SKINTRACK_TEST_ORTHANC_DIR   its folder (storage, log, pid); stop with .ci/stop-orthanc.sh
# Orthanc 1.10 cannot bind to loopback only: its HTTP server answers loopback only (RemoteAccessAllowed false)
# and with a password; its DICOM server takes associations only from the AE titles SKINTRACK and
# SKINTRACK-TEST calling from 127.0.0.1. The storage is deleted when it is stopped.
set -euo pipefail
orthanc=$(command -v Orthanc || ls /usr/sbin/Orthanc 2>/dev/null || true)
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
if [ -z "$orthanc" ] || [ ! -e "$plugin" ]; then
  echo "echo 'Orthanc or its DICOMweb plugin is not installed: PACS tests will be skipped' >&2"
  exit 0
fi
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
http_port=$(free_port)
dicom_port=$(free_port)
while [ "$dicom_port" = "$http_port" ]; do dicom_port=$(free_port); done
password=$(python3 -c "import secrets; print(secrets.token_urlsafe(18))")
dir=$(mktemp -d /tmp/skintrack-orthanc.XXXXXX)
mkdir -p "$dir/db"
cat > "$dir/orthanc.json" <<EOF
{
  "Name": "skintrack-test-pacs",
  "StorageDirectory": "$dir/db",
  "IndexDirectory": "$dir/db",
  "Plugins": ["$plugin"],
  "HttpPort": $http_port,
  "DicomPort": $dicom_port,
  "DicomAet": "ORTHANC",
  "DicomCheckCalledAet": true,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": true,
  "RegisteredUsers": {"skintrack": "$password"},
  "DicomAlwaysAllowEcho": false,
  "DicomAlwaysAllowStore": false,
  "DicomAlwaysAllowFind": false,
  "DicomCheckModalityHost": true,
  "DicomModalities": {
    "skintrack": {"AET": "SKINTRACK", "Host": "127.0.0.1", "Port": 104, "AllowStore": true, "AllowFind": true,
                  "AllowEcho": true, "AllowMove": false, "AllowGet": false},
    "tests": {"AET": "SKINTRACK-TEST", "Host": "127.0.0.1", "Port": 104, "AllowStore": true, "AllowFind": true,
              "AllowEcho": true, "AllowMove": false, "AllowGet": false}
  },
  "DefaultEncoding": "Utf8",
  "OrthancExplorerEnabled": false,
  "WebDavEnabled": false,
  "HttpDescribeErrors": true,
  "StableAge": 1,
  "DicomWeb": {"Enable": true, "Root": "/dicom-web/", "EnableWado": false}
}
EOF
"$orthanc" --logdir="$dir" "$dir/orthanc.json" >"$dir/stdout.log" 2>&1 &
echo $! > "$dir/pid"
for _ in $(seq 1 150); do
  if python3 - "$http_port" "$password" <<'PY' 2>/dev/null
import base64, sys, urllib.request
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/system")
request.add_header("Authorization", "Basic " + base64.b64encode(f"skintrack:{sys.argv[2]}".encode()).decode())
urllib.request.urlopen(request, timeout=1).read()
PY
  then
    echo "export SKINTRACK_TEST_ORTHANC_URL=http://skintrack:$password@127.0.0.1:$http_port"
    echo "export SKINTRACK_TEST_ORTHANC_DICOM=ORTHANC@127.0.0.1:$dicom_port"
    echo "export SKINTRACK_TEST_ORTHANC_DIR=$dir"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then break; fi
  sleep 0.2
done
kill "$(cat "$dir/pid")" 2>/dev/null || true
echo "echo 'Orthanc did not start (see $dir/stdout.log): PACS tests will be skipped' >&2"
