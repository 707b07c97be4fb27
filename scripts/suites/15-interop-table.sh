#!/usr/bin/env bash
# The interop matrix (issue 11) as the README prints it: one row per independent implementation,
# one column per step of a server's life, from what the `interop_matrix` tests wrote.
set -uo pipefail
cd "$(dirname "$0")/../.."
exec scripts/interop-table
