#!/usr/bin/env bash
# Adds up the vitest "Tests" lines of every package in a test log and prints one closing line:
# "N passed, N failed, N skipped".
set -u
sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E '^[^ ]*:test: +Tests +' | awk '
  {
    for (i = 1; i <= NF; i++) {
      if ($(i + 1) ~ /^passed/) passed += $i
      if ($(i + 1) ~ /^failed/) failed += $i
      if ($(i + 1) ~ /^skipped/) skipped += $i
    }
  }
  END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }'
