#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Container entrypoint: `logitscope` gets --model from $LOGITSCOPE_MODEL (a hub id looked up in the
# read-only Hugging Face cache at $HF_HUB_CACHE, or a folder; unset = the toy demo model) and
# --backend cuda when a GPU is visible. Any other command runs as given (e.g. logitscope-cli ...).
set -e
mkdir -p "${XDG_RUNTIME_DIR:-/tmp/runtime-logitscope}" && chmod 700 "${XDG_RUNTIME_DIR:-/tmp/runtime-logitscope}"
if [ "${1:-}" = logitscope ]; then
  shift
  set -- logitscope "$@"
  if [ -n "${LOGITSCOPE_MODEL:-}" ]; then set -- "$@" --model "$LOGITSCOPE_MODEL"; fi
  backend=${LOGITSCOPE_BACKEND:-}
  if [ -z "$backend" ]; then
    if [ -e /dev/nvidia0 ] || [ -e /dev/nvhost-gpu ] || [ -e /dev/nvgpu/igpu0 ]; then backend=cuda; else backend=cpu; fi
  fi
  set -- "$@" --backend "$backend"
  echo "logitscope-entrypoint: $* (QT_QPA_PLATFORM=$QT_QPA_PLATFORM)"
fi
exec "$@"
