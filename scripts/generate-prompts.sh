#!/usr/bin/env bash
# Generate the prompt WAVs from the catalogs, and the tone files.
#
#   prompts/<locale>/catalog.yaml  ->  prompts/<locale>/<id>.wav   (espeak-ng + sox)
#   prompts/tones/beep.wav, music-on-hold.wav, conf-join.wav, conf-leave.wav   (sox synth, no speech)
#
# Every WAV is 8000 Hz, mono, 16-bit signed PCM. The WAVs are committed, so a fresh machine needs neither
# espeak-ng nor sox; run this only after editing a catalog (or adding a locale).
#
# Idempotent: the same catalogs give the same files (sox runs without dither, so output is deterministic);
# WAVs in a locale directory whose id is no longer in the catalog are removed.
#
# Usage: scripts/generate-prompts.sh [locale ...]     (default: every directory under prompts/ with a catalog.yaml)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROMPTS="$ROOT/prompts"
SPEED=150       # espeak-ng words per minute
RATE=8000

die() { echo "generate-prompts: $*" >&2; exit 1; }

need() { # need <command> <debian package>
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install it with: apt-get install -y $2"
}
need espeak-ng espeak-ng
need sox sox
need node nodejs
(cd "$ROOT" && node -e "require('yaml')") 2>/dev/null \
  || die "the npm package 'yaml' is not installed in $ROOT; run: npm install"

voice_for() { # espeak-ng voice for a locale directory name
  case "$1" in
    en-US) echo en-us ;;
    fr-FR) echo fr-fr ;;
    *) die "no espeak-ng voice configured for locale '$1' (add it to voice_for in $0)" ;;
  esac
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Output format and effects shared by every file. -D: no dither (deterministic output).
OUT_FMT=(-D -r "$RATE" -c 1 -b 16 -e signed-integer)

# Print "id<TAB>text" for each entry of a catalog, after validating it.
catalog_entries() {
  (cd "$ROOT" && node -e '
    const fs = require("fs");
    const YAML = require("yaml");
    const file = process.argv[1];
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { uniqueKeys: true });
    if (doc.errors.length) { console.error(file + ": " + doc.errors.map(String).join("\n")); process.exit(1); }
    const map = doc.toJS();
    if (map === null || typeof map !== "object" || Array.isArray(map)) {
      console.error(file + ": expected a map of promptId: text"); process.exit(1);
    }
    let bad = false;
    for (const [id, text] of Object.entries(map)) {
      if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id)) { console.error(file + ": id \"" + id + "\" is not kebab-case"); bad = true; continue; }
      if (typeof text !== "string" || text.trim() === "" || /[\t\r\n]/.test(text)) {
        console.error(file + ": " + id + ": text must be a non-empty single-line string"); bad = true; continue;
      }
      process.stdout.write(id + "\t" + text.trim() + "\n");
    }
    if (bad) process.exit(1);
  ' "$1")
}

generate_locale() {
  local locale="$1" dir="$PROMPTS/$1" voice entries id text count=0
  [[ -f "$dir/catalog.yaml" ]] || die "no catalog: $dir/catalog.yaml"
  voice="$(voice_for "$locale")"
  entries="$(catalog_entries "$dir/catalog.yaml")" || die "invalid catalog: $dir/catalog.yaml"
  declare -A keep=()
  while IFS=$'\t' read -r id text; do
    [[ -n "$id" ]] || continue
    keep["$id"]=1
    printf '%s' "$text" > "$TMP/text.txt"
    espeak-ng -v "$voice" -s "$SPEED" -f "$TMP/text.txt" -w "$TMP/raw.wav"
    # Resample to 8 kHz mono 16-bit; trim leading and trailing silence (below 0.5 %, keeping 50 ms so
    # consonants are not clipped); normalise the peak to -3 dBFS so every prompt plays at the same level.
    sox "$TMP/raw.wav" "${OUT_FMT[@]}" "$TMP/out.wav" \
      silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse \
      pad 0.05 0.05 norm -3
    mv -f "$TMP/out.wav" "$dir/$id.wav"
    echo "wrote prompts/$locale/$id.wav"
    count=$((count + 1))
  done <<< "$entries"
  # Remove WAVs whose id is no longer in the catalog.
  local f base
  for f in "$dir"/*.wav; do
    [[ -e "$f" ]] || continue
    base="$(basename "$f" .wav)"
    if [[ -z "${keep[$base]:-}" ]]; then
      rm -f "$f"
      echo "removed prompts/$locale/$base.wav (not in catalog)"
    fi
  done
  echo "prompts/$locale: $count prompts"
}

generate_tones() {
  local dir="$PROMPTS/tones"
  mkdir -p "$dir"

  # Record beep: 1 kHz, 0.4 s, -6 dBFS, 5 ms fades so it does not click.
  sox -n "${OUT_FMT[@]}" "$TMP/beep.wav" synth 0.4 sine 1000 fade h 0.005 0.4 0.005 gain -6
  mv -f "$TMP/beep.wav" "$dir/beep.wav"
  echo "wrote prompts/tones/beep.wav"

  # Music on hold: four soft chords of sine tones, 2.5 s each (10 s), faded in and out so the loop is seamless;
  # peak normalised to -12 dBFS. The chords: C major, A minor, F major, G major.
  local chords=(
    "261.63 329.63 392.00 523.25"
    "220.00 261.63 329.63 440.00"
    "174.61 220.00 261.63 349.23"
    "196.00 246.94 293.66 392.00"
  )
  local i=0 parts=() synth freq
  for chord in "${chords[@]}"; do
    synth=()
    for freq in $chord; do synth+=(sine "$freq"); done
    # synth with N tones on an N-channel stream, then mix the channels down to mono.
    sox -n -D -r "$RATE" -b 16 -e signed-integer -c 4 "$TMP/chord$i-4ch.wav" synth 2.5 "${synth[@]}"
    sox "$TMP/chord$i-4ch.wav" "${OUT_FMT[@]}" "$TMP/chord$i.wav" remix 1-4 fade t 0.4 2.5 0.6
    parts+=("$TMP/chord$i.wav")
    i=$((i + 1))
  done
  sox "${parts[@]}" "${OUT_FMT[@]}" "$TMP/moh.wav" norm -12
  mv -f "$TMP/moh.wav" "$dir/music-on-hold.wav"
  echo "wrote prompts/tones/music-on-hold.wav"

  # Conference entry and exit tones (played to everyone in a meeting when someone joins or leaves): two 150 ms
  # notes, rising (600 Hz then 900 Hz) for an entry, falling (750 Hz then 450 Hz) for an exit; -12 dBFS, 5 ms
  # fades. No note is shared, so neither tone contains the beginning of the other (callers over the network
  # recognise them by their first samples).
  local note
  for note in 600 900 750 450; do
    sox -n "${OUT_FMT[@]}" "$TMP/note$note.wav" synth 0.15 sine "$note" fade h 0.005 0.15 0.005 gain -12
  done
  sox "$TMP/note600.wav" "$TMP/note900.wav" "${OUT_FMT[@]}" "$TMP/join.wav"
  sox "$TMP/note750.wav" "$TMP/note450.wav" "${OUT_FMT[@]}" "$TMP/leave.wav"
  mv -f "$TMP/join.wav" "$dir/conf-join.wav"
  mv -f "$TMP/leave.wav" "$dir/conf-leave.wav"
  echo "wrote prompts/tones/conf-join.wav, prompts/tones/conf-leave.wav"
}

locales=("$@")
if [[ ${#locales[@]} -eq 0 ]]; then
  for d in "$PROMPTS"/*/; do
    [[ -f "$d/catalog.yaml" ]] && locales+=("$(basename "$d")")
  done
fi
[[ ${#locales[@]} -gt 0 ]] || die "no prompts/<locale>/catalog.yaml found under $PROMPTS"

for locale in "${locales[@]}"; do
  generate_locale "$locale"
done
generate_tones
