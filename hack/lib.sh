# shellcheck shell=bash
# What the hack/ build scripts share (k8s-bin.sh, k8s-images.sh,
# cri-dockerd.sh): timing, quiet steps with logs, and reading the Go module
# proxy's answers. Source it after defining log and die; set KB_LOG_DIR
# before calling quietly.

now() { date +%s.%N; }

# elapsed START [DIGITS]: seconds since START (from now), DIGITS decimals
# (default 1).
elapsed() { awk -v a="$1" -v b="$(now)" -v p="${2:-1}" 'BEGIN { printf "%.*f", p, b - a }'; }

# quietly LOGNAME CMD...: runs CMD with its output in KB_LOG_DIR/LOGNAME.log;
# on failure shows the last lines and the log's path, and returns 1.
quietly() {
  local logf="${KB_LOG_DIR:?}/$1.log"
  shift
  mkdir -p "$KB_LOG_DIR"
  if "$@" >"$logf" 2>&1; then return 0; fi
  tail -n 25 "$logf" | sed 's/^/    /' >&2
  log "(full output: $logf)"
  return 1
}

# json_objects: reads `go mod download -json` output (Go's tab-indented
# encoding, one object per module) and prints "ok<TAB>PATH<TAB>DIR<TAB>HASH"
# or "err<TAB>PATH<TAB>MESSAGE" for each object (HASH: the VCS commit the
# proxy names for the version, often empty).
json_objects() {
  awk '
    function val(s) { sub(/^\t+"[A-Za-z]+": "/, "", s); sub(/",?$/, "", s); return s }
    /^\{/ { p = ""; d = ""; e = ""; h = "" }
    /^\t"Path": "/ { p = val($0) }
    /^\t"Dir": "/ { d = val($0) }
    /^\t\t"Hash": "/ { h = val($0) }
    /^\t"Error": "/ { e = val($0); gsub(/\\n\\t/, " ", e); gsub(/\\n/, " ", e); gsub(/\\"/, "\"", e) }
    /^\}/ { if (e == "") print "ok\t" p "\t" d "\t" h; else print "err\t" p "\t" e }
  '
}

# download MODULE@VERSION...: downloads them and prints json_objects lines.
# Never fails by itself; callers look at the lines.
download() {
  go mod download -json "$@" 2>/dev/null | json_objects || true
}

# go_mod_replaces GOMOD: the replace directives of GOMOD, "OLD[ VER] => NEW[ VER]"
# per line, comments dropped.
go_mod_replaces() {
  awk '
    { sub(/\/\/.*/, "") }
    /^replace[ \t]*\(/ { blk = 1; next }
    blk && /^[ \t]*\)/ { blk = 0; next }
    blk && /=>/ { print; next }
    /^replace[ \t]/ { sub(/^replace[ \t]+/, ""); print }
  ' "$1"
}
