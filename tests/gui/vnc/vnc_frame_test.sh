#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Remote use over VNC: starts the workbench with Qt's VNC platform (`-platform vnc:port=N`, no X
# server, no OpenGL) on a free port, captures one frame with Debian's vncsnapshot (the same RFB
# protocol a VNC viewer speaks, e.g. through `ssh -L 5900:localhost:5900 host`) and fails if the
# frame is blank. Usage: vnc_frame_test.sh <logitscope binary> <output.png> [model folder]
# Exit 77 (skipped) when vncsnapshot, ImageMagick or the Qt VNC plugin (qt6-qpa-plugins) is missing.
set -u
app=$1
out=$2
model=${3:-}
command -v vncsnapshot >/dev/null 2>&1 || { echo "vncsnapshot not installed (apt-get install vncsnapshot)"; exit 77; }
command -v convert >/dev/null 2>&1 || { echo "ImageMagick not installed"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
workdir=$(dirname "$out")
mkdir -p "$workdir"
rm -f "$out" "$out.jpg"
log="$workdir/vnc_app.log"

# A free port of the VNC range (display :N = port 5900+N, as vncsnapshot addresses it).
port=$(python3 - <<'PY'
import socket
for p in range(5911, 5999):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        s.close()
PY
)
[ -n "$port" ] || { echo "no free port in 5911-5998"; exit 1; }
display=$((port - 5900))

set -- -platform "vnc:port=$port:size=1920x1200" --telemetry proc
[ -n "$model" ] && set -- "$@" --model "$model"
"$app" "$@" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
trap cleanup EXIT

# Wait for the server to listen (the app exits on a missing plugin: report that as a skip).
i=0
while ! python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log"
    grep -qi 'could not find the Qt platform plugin "vnc"\|no Qt platform plugin' "$log" && { echo "Qt VNC plugin missing (qt6-qpa-plugins)"; exit 77; }
    echo "the app exited before serving VNC"; exit 1
  fi
  i=$((i + 1))
  [ $i -lt 100 ] || { cat "$log"; echo "nothing listens on port $port after 20 s"; exit 1; }
  sleep 0.2
done
# Let the model load and the window paint, then take the frame (vncsnapshot skips black frames).
sleep "${LOGITSCOPE_VNC_DELAY:-5}"
timeout 60 vncsnapshot -quiet "127.0.0.1:$display" "$out.jpg" || { cat "$log"; echo "vncsnapshot failed"; exit 1; }
kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "the app died while serving VNC"; exit 1; }
convert "$out.jpg" "$out" || exit 1
size=$(identify -format '%wx%h' "$out")
colours=$(convert "$out" -format '%k' info:)
deviation=$(convert "$out" -colorspace Gray -format '%[fx:int(standard_deviation*1000)]' info:)
echo "VNC frame from port $port: $out $size, $colours colours, grey standard deviation $deviation/1000"
[ "$colours" -ge 50 ] && [ "$deviation" -ge 20 ] || { echo "the VNC frame looks blank"; exit 1; }
