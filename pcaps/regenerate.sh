#!/bin/sh
# Records the pcaps/ corpus again: keepalived 2.2.7 and FRR 8.4 vrrpd in
# two network namespaces on a private bridge (192.0.2.0/24, 2001:db8::/64),
# each capture taken on lb2's eth0 by tcpdump or dumpcap, and writes each
# capture's manifest (<name>.toml: roles, addresses, MACs, configs).
#
# Needs root, ip, tcpdump, dumpcap, keepalived and frr (no service is
# started system-wide: every daemon runs in a namespace the recorder made
# and is killed by pid; namespaces are removed even on failure).
#
#   pcaps/regenerate.sh                         # every capture
#   pcaps/regenerate.sh keepalived-v2 frr-v3    # only these
#   pcaps/regenerate.sh keepalived-ah keepalived-ah-unicast   # auth_type AH
#
# Then review and accept the replay snapshots:
#   INSTA_UPDATE=always cargo test -p vigil-sim --test replay_corpus
#   git diff pcaps/snapshots
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "regenerate.sh: needs root (network namespaces)" >&2
    exit 2
fi
for tool in ip tcpdump dumpcap keepalived /usr/lib/frr/zebra /usr/lib/frr/vrrpd; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || {
        echo "regenerate.sh: $tool is missing (apt-get install iproute2 tcpdump tshark keepalived frr)" >&2
        exit 2
    }
done
only=$(echo "$*" | tr ' ' ',')
VIGIL_RECORD_PCAPS=1 VIGIL_RECORD_ONLY="$only" \
    cargo test -p vigil-sim --test replay_record -- --ignored --nocapture --test-threads 1
