#!/bin/bash
# The layers of docs/architecture.md, checked against the includes of core/,
# tui/ and cli/ (tests/static/layers.py).
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/layers.py" "$here/../.."
