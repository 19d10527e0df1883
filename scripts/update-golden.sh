#!/usr/bin/env bash
# Regenerate the render goldens (tests/render/golden/<env>/ and
# <env>.manifest) from the default site.  Review `git diff` afterwards:
# every change must be intended.
#   scripts/update-golden.sh [VPAI_BINARY]   (default build/asan/vpai)
set -euo pipefail
cd "$(dirname "$0")/.."
vpai=${1:-${VPAI:-build/asan/vpai}}
export VPAI_STACK_DIR=$PWD/stack
mkdir -p tests/render/golden
for env in prod preprod; do
	rm -rf "tests/render/golden/$env"
	"$vpai" --site tests/fixtures/render/vpai.yml -v render --env "$env" \
	    --secrets tests/fixtures/secrets/plain.yml \
	    -o "tests/render/golden/$env" | grep '^  ' \
	    >"tests/render/golden/$env.manifest"
	echo "$env: $(wc -l <"tests/render/golden/$env.manifest") files"
done
# Plain files in the source tree: owned by the tree's owner, readable (the
# modes and owners that matter are in the manifests; the secrets are fakes).
chown -R "$(stat -c %u:%g .)" tests/render/golden
chmod -R u+rwX,go+rX,go-w tests/render/golden
