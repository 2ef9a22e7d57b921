#!/usr/bin/env bash
# Show that two reglink binaries write byte-identical outputs: the example
# study end to end, and the example study on a synthetic municipality.
#
#   scripts/same-outputs.sh BEFORE_BINARY AFTER_BINARY [WORK_DIR] [SEED]
#
# Build BEFORE from the commit you start from (for example
# `git worktree add /tmp/before HEAD && cargo build --release -p reglink`
# there) and AFTER from your change. Every command of both binaries runs in
# the same folder (reports name their paths) and the municipality run uses
# one master key and one set of synthetic registers for both, so every
# difference left is a difference in what the code writes. Exits 1 and
# lists the differing files if any differ.
#
# `reglink example` draws a new key on every run, and pseudonyms, the key
# sums of the cell tables and the key id in manifests follow the key: for
# the example, only what does not depend on the key is compared (the
# synthetic registers, the release's tables, summary and checker report,
# and the printed summary). The municipality run compares every file.
set -euo pipefail

usage="usage: same-outputs.sh BEFORE AFTER [WORK_DIR] [SEED]"
before=$(realpath "${1:?$usage}")
after=$(realpath "${2:?$usage}")
work=${3:-$(mktemp -d)}
seed=${4:-7}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
work=$(realpath "$work")
echo "working in $work"

status=0
same() { # same PATH_A PATH_B WHAT [diff options]
    local a=$1 b=$2 what=$3
    shift 3
    if diff -r -q "$@" "$a" "$b" >"$work/diff.txt" 2>&1; then
        echo "same: $what"
    else
        echo "DIFFERENT: $what"
        sed 's/^/    /' "$work/diff.txt"
        status=1
    fi
}
binary() { if [ "$1" = before ]; then echo "$before"; else echo "$after"; fi; }

# 1. `reglink example`, run by each binary in the same folder.
for side in before after; do
    rm -rf "$work/example" "$work/example-$side"
    "$(binary $side)" example --out "$work/example" >"$work/example-$side.stdout" 2>"$work/example-$side.stderr"
    mv "$work/example" "$work/example-$side"
    mv "$work/example.checker" "$work/example-$side/release.checker" 2>/dev/null || true
done
e="$work/example"
same "$e-before/raw" "$e-after/raw" "example: synthetic registers"
same "$e-before/study.toml" "$e-after/study.toml" "example: study file"
same "$e-before/policy.toml" "$e-after/policy.toml" "example: policy"
same "$e-before/release" "$e-after/release" "example: release tables and summary" -x manifest.json
same "$e-before/release.checker" "$e-after/release.checker" "example: checker report" -x manifest.json
# A run's printed summary, minus the lines that follow the key.
for side in before after; do
    grep -v 'master key' "$e-$side.stdout" >"$work/example-$side.summary"
done
same "$work/example-before.summary" "$work/example-after.summary" "example: printed summary"
# Progress lines on stderr end with how long a stage took.
for side in before after; do
    sed -E 's/ [0-9.]+(ns|µs|ms|s)$/ TIME/' "$e-$side.stderr" >"$work/example-$side.warnings"
done
same "$work/example-before.warnings" "$work/example-after.warnings" "example: warnings"

# 2. The example study on a synthetic municipality (about 165,000 people):
#    every stage, run by each binary on the same registers and the same key.
m="$work/municipality"
rm -rf "$m"
mkdir -p "$m"
"$after" synth --quiet --preset municipality --seed "$seed" --format csv --out "$m/registers"
"$before" synth --quiet --preset municipality --seed "$seed" --format csv --out "$m/registers-before"
same "$m/registers-before" "$m/registers" "municipality: synthetic registers"
"$after" key new --out "$m/study.key" >/dev/null
for side in before after; do
    bin=$(binary $side)
    d="$m/run"
    rm -rf "$d" "$d.checker"
    mkdir -p "$d/pseudonymised"
    cp -r "$m/registers" "$d/raw"
    cp "$here/fixtures/studies/example/study.toml" "$d/study.toml"
    for pair in eb:personnr af:personnummer lisa:PersonNr; do
        name=${pair%%:*} id=${pair#*:}
        "$bin" pseudonymise --quiet --key "$m/study.key" --study example-eb-af-2023 \
            --id-column "$id" --in "$d/raw/$name.csv" --out "$d/pseudonymised/$name.parquet" \
            --crosswalk "$d/raw/crosswalk.csv" --derive --reference-date 2026-06-30
    done
    "$bin" link --quiet "$d/study.toml" --out "$d/link" >"$m/$side.stdout" 2>"$m/$side.stderr"
    "$bin" run --quiet "$d/study.toml" --policy "$here/fixtures/policies/example.toml" \
        --out "$d/release" >>"$m/$side.stdout" 2>>"$m/$side.stderr"
    "$bin" verify "$d/release" >>"$m/$side.stdout"
    mv "$d" "$m/$side"
done
for part in pseudonymised link release release.checker; do
    same "$m/before/$part" "$m/after/$part" "municipality: $part"
done
same "$m/before.stdout" "$m/after.stdout" "municipality: printed output"
same "$m/before.stderr" "$m/after.stderr" "municipality: warnings"

if [ $status = 0 ]; then echo "every output is byte-identical"; fi
exit $status
