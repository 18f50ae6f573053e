#!/usr/bin/env bash
# hack/generate.sh: regenerate every generated file: the Packer plugin's
# HCL2 specs (*.hcl2spec.go) and docs partials (docs-partials/) with
# packer-sdc, the rendered plugin docs (.web-docs/), the recipe reference and
# the golden plans. With --check it regenerates into the tree and fails when
# git sees a difference (CI's staleness check).
#
# packer-sdc struct-markdown finds the project by a parent directory named
# packer-plugin-*, and loops forever without one; it runs through a symlink
# of that name under _build/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
check=false
[ "${1:-}" = --check ] && check=true
generated=(builder provisioners docs-partials .web-docs docs testdata/render)
# snapshot: every file under the generated paths with its hash.
snapshot() { find "${generated[@]}" -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum; }
$check && before=$(snapshot)

link="$root/_build/sdc/packer-plugin-kubebake"
mkdir -p "$(dirname "$link")"
ln -sfn "$root" "$link"
(cd "$link" && PWD="$link" go generate ./builder/... ./provisioners/...)
go run ./hack/recipedoc recipes/types.go docs/recipe-reference.md
# The Packer integrations layout: packer-sdc renders docs/ with the
# partials, hack/webdocs compiles that into .web-docs (README.md,
# components/TYPE/SLUG/README.md, metadata.hcl from docs/metadata.hcl).
rm -rf .web-docs _build/docs
go tool packer-sdc renderdocs -src docs -partials docs-partials -dst _build/docs >/dev/null 2>&1
go run ./hack/webdocs -src _build/docs -dst .web-docs -metadata docs/metadata.hcl
go test ./recipes/render -run TestGolden -update -count=1 >/dev/null

if $check; then
  if [ "$before" != "$(snapshot)" ]; then
    echo "generated files were stale; make generate has now rewritten them (commit the result):" >&2
    diff <(echo "$before") <(snapshot) >&2 || true
    exit 1
  fi
  echo "generated files are up to date"
fi
