#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Starts the workbench under Xvfb (a real X11 server, no OpenGL), takes a screenshot of the whole
# screen with ImageMagick's `import` and fails if it is blank (one colour, or nearly so).
# Usage: screenshot_test.sh <logitscope binary> <output.png> [model folder] [conversation.json]
# Exit 77 (skipped) when xvfb-run or import is missing.
set -u
app=$1
out=$2
model=${3:-}
conversation=${4:-}
command -v xvfb-run >/dev/null 2>&1 || { echo "xvfb-run not installed"; exit 77; }
command -v import >/dev/null 2>&1 || { echo "ImageMagick import not installed"; exit 77; }
rm -f "$out"

args="--telemetry proc"
[ -n "$model" ] && args="$args --model $model"
[ -n "$conversation" ] && args="$args --conversation $conversation"

# Inside the X server: start the app, give it time to load and paint, grab the root window.
xvfb-run -a -s "-screen 0 1920x1200x24" sh -c "
  QT_QPA_PLATFORM=xcb '$app' $args &
  pid=\$!
  sleep \${LOGITSCOPE_SCREENSHOT_DELAY:-6}
  import -window root '$out'
  status=\$?
  kill \$pid 2>/dev/null
  wait \$pid 2>/dev/null
  exit \$status
" || { echo "xvfb-run or import failed"; exit 1; }

[ -s "$out" ] || { echo "no screenshot written"; exit 1; }
# A blank frame has one or two colours and no spread; a painted window has hundreds.
colours=$(convert "$out" -format '%k' info:)
deviation=$(convert "$out" -colorspace Gray -format '%[fx:int(standard_deviation*1000)]' info:)
echo "screenshot $out: $colours colours, grey standard deviation $deviation/1000"
[ "$colours" -ge 50 ] && [ "$deviation" -ge 20 ] || { echo "screenshot looks blank"; exit 1; }
