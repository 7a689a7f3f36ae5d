#!/usr/bin/env bash
# Vendors Swagger UI (the npm package swagger-ui-dist, pinned with its
# tarball's sha256) into functions/docs/assets/, which the docs function embeds
# in its binary (include_bytes!). The files are committed, so a build needs no
# npm; run this only to change the version (update VERSION and SHA256 together).
# Needs npm; fetches nothing but that one tarball.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=5.35.0
SHA256=1b8e891893404ea4c3558b6a87e2a3e494e7eedba41168c2ece5800a391a6ea6
DEST=functions/docs/assets

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "npm pack swagger-ui-dist@$VERSION"
(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tarball="$work/swagger-ui-dist-$VERSION.tgz"
echo "$SHA256  $tarball" | sha256sum --check --quiet || {
    echo "swagger-ui-dist-$VERSION.tgz does not have the pinned sha256" >&2
    exit 1
}
tar -xzf "$tarball" -C "$work"
mkdir -p "$DEST"
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
    cp "$work/package/$file" "$DEST/$file"
done
echo "$VERSION" > "$DEST/VERSION"
echo "vendored swagger-ui-dist $VERSION into $DEST:"
ls -l "$DEST"
