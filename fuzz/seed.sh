#!/usr/bin/env bash
# Builds small seed corpora in fuzz/corpus/ from the repository's fixtures and
# a tiny synthetic data set. The corpora are not committed: the synthetic
# extracts hold valid (if made-up) personnummer.
#
#   fuzz/seed.sh            # runs `reglink synth --preset tiny --seed 1`
#   fuzz/seed.sh SYNTH_DIR  # uses the output of an earlier synth run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$root/fuzz/corpus
synth=${1:-}
if [[ -z $synth ]]; then
    synth=$(mktemp -d)
    trap 'rm -rf "$synth"' EXIT
    (cd "$root" && cargo run --release -q -p reglink -- synth --preset tiny --seed 1 --out "$synth" >/dev/null)
fi
for t in pnr date study policy codelist crosswalk extract_csv cells; do
    mkdir -p "$corpus/$t"
done

# One seed per file: a prefix (raw bytes) followed by the contents of a file.
seed() { # target name prefix file...
    local target=$1 name=$2 prefix=$3
    shift 3
    { printf "$prefix"; cat "$@"; } >"$corpus/$target/$name"
}

# pnr: four bytes of reference date (days since 1970, little-endian:
# 2025-01-01 is day 20089 = 0x4E79), then the number in each written form.
i=0
for id in 198112189876 19811218-9876 811218-9876 8112189876 260304+1126 \
    198112189877 198113189876 198112619876 " 198112189876 " 19811218_9876; do
    printf '\x79\x4e\x00\x00%s' "$id" >"$corpus/pnr/form-$i"
    i=$((i + 1))
done

# date: ISO dates, ordinary, impossible and in the expanded form.
printf '2024-02-29' >"$corpus/date/leap"
printf '2023-02-29' >"$corpus/date/not-leap"
printf -- '-0044-03-15' >"$corpus/date/bce"
printf '+12024-01-01' >"$corpus/date/expanded"

seed study example '' "$root/fixtures/studies/example/study.toml"
seed policy example '' "$root/fixtures/policies/example.toml"
for f in "$synth"/codelists/*.csv; do
    seed codelist "$(basename "$f" .csv)" '\x00' "$f"
done
seed codelist kommun-named '\x01' "$synth/codelists/kommun.csv"

for case in crosswalk-chain crosswalk-conflict; do
    seed crosswalk "$case" '' "$root/fixtures/pseudonymise/$case/crosswalk.csv"
done
head -n 6 "$synth/crosswalk.csv" >"$corpus/crosswalk/synth"

for f in "$root"/fixtures/pseudonymise/*/input.csv; do
    seed extract_csv "$(basename "$(dirname "$f")")" '\x03' "$f"
done
for f in eb af lisa; do
    { printf '\x03'; head -n 12 "$synth/$f.csv"; } >"$corpus/extract_csv/synth-$f"
done

# cells: person, EB month, amount, AF start, AF end, LISA year, earnings.
printf 'a\t202402\t5815\t2023-01-04\t2023-01-31\t2023\t163800\nb\t2024-03\t3915,50\t2024-09-05\t\t2024\t278100\n' \
    >"$corpus/cells/typical"
printf 'a\t202313\t-1\t2023-02-30\t2023-01-01\t99999\t1e300\nb\t\t\t2024-13-01\t0000-00-00\t\tNaN\n' \
    >"$corpus/cells/invalid"
echo "seeded $(find "$corpus" -type f | wc -l) files in $corpus"
