#!/usr/bin/env bash
# End to end against a local 4-validator chain, through the command line: issue, send back and forth (balances
# add up to the issued supply), a view-only wallet sees the same, a restored wallet finds the same funds, a payment
# proof verifies and tampered ones fail, bad input exits 1 with its reason.
#
#   cargo build -p ctchain-node -p ctchain-wallet && wallet/scripts/e2e-local.sh [TARGET_DIR]
set -euo pipefail
BIN=$(cd "${1:-target/debug}" && pwd)
NODE=$BIN/ctchain-node
W=$BIN/ctchain-wallet
DIR=$(mktemp -d)
PORT=${E2E_BASE_PORT:-28600}
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
balance() { $W --wallet "$1" balance --json | python3 -c 'import json,sys; b=json.load(sys.stdin)["balances"]; print(next((x["confirmed"] for x in b if x["label"]=="CNY"), "0.00"))'; }

$NODE testnet --dir "$DIR/net" --validators 4 --base-port "$PORT" >/dev/null
for i in 0 1 2 3; do
  $NODE start --home "$DIR/net/validator-$i" >"$DIR/node$i.log" 2>&1 &
  PIDS+=($!)
done
export CTCHAIN_RPC=http://127.0.0.1:$((PORT + 100)) CTCHAIN_WALLET_PASSWORD=pw CTCHAIN_ISSUER_PASSWORD=ipw
# Wait (at most 10 s) for the first node's RPC port.
python3 -c "
import socket, sys, time
for _ in range(50):
    try:
        socket.create_connection(('127.0.0.1', $((PORT + 100))), 1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit('node RPC did not come up')"
cd "$DIR"
python3 -c "import json; d=json.load(open('net/testnet-secrets.json')); open('cny.secret','w').write(next(i[2] for i in d['issuers'] if i[1]=='CNY'))"
CHAIN=ctchain-local-1

PHRASE=$($W --wallet alice.json new --insecure-fast-kdf --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["recovery_phrase"])')
$W --wallet bob.json new --insecure-fast-kdf >/dev/null
$W import-issuer-key --secret-file cny.secret --out cny-issuer.json --chain-id "$CHAIN" --insecure-fast-kdf >/dev/null
ALICE=$($W --wallet alice.json address); BOB=$($W --wallet bob.json address)

$W --wallet alice.json issue --issuer-key cny-issuer.json --asset CNY --amount 1000 >/dev/null
$W --wallet alice.json send --to "$BOB" --asset CNY --amount 12.50 --memo "invoice 7" >/dev/null
$W --wallet bob.json send --to "$ALICE" --asset CNY --amount 2.50 --memo refund >/dev/null
$W --wallet alice.json sync >/dev/null
[ "$(balance alice.json)" = "990.00" ] || fail "alice has $(balance alice.json)"
[ "$(balance bob.json)" = "10.00" ] || fail "bob has $(balance bob.json)"

VK=$($W --wallet bob.json export-view-key --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["view_key"])')
$W --wallet watch.json new --view-only "$VK" --insecure-fast-kdf >/dev/null
[ "$(balance watch.json)" = "10.00" ] || fail "view-only wallet sees $(balance watch.json)"
$W --wallet watch.json send --to "$ALICE" --asset CNY --amount 1 2>/dev/null && fail "a view-only wallet spent"

echo "$PHRASE" > phrase.txt
$W --wallet restored.json restore --phrase-file phrase.txt --insecure-fast-kdf >/dev/null
[ "$(balance restored.json)" = "990.00" ] || fail "restored wallet has $(balance restored.json)"

TX=$($W --wallet bob.json history --json | python3 -c 'import json,sys; print(next(h["tx_id"] for h in json.load(sys.stdin)["history"] if h["kind"]=="received"))')
IDX=$(python3 -c "import json; s=json.load(open('bob.store.json')); print(next(o['index'] for o in s['outputs'] if o['tx_id']=='$TX'))")
$W --wallet bob.json prove-payment "$TX" --output "$IDX" --out proof.json >/dev/null
$W verify-payment proof.json --json | grep -q '"amount_display": "12.50"' || fail "payment proof"
python3 -c "
import json; p=json.load(open('proof.json')); d=p['disclosure']; p['disclosure']=d[:90]+('0' if d[90]!='0' else '1')+d[91:]; json.dump(p,open('tampered.json','w'))"
$W verify-payment tampered.json 2>/dev/null && fail "a tampered proof verified"

out=$($W --wallet alice.json send --to "$BOB" --asset CNY --amount 5000 2>&1) && fail "overspent"
echo "$out" | grep -q "990.00 CNY available" || fail "insufficient-funds message: $out"
out=$($W --wallet alice.json send --to "$BOB" --asset CNY --amount 1.001 2>&1) && fail "too many decimals accepted"
echo "all wallet end-to-end checks passed"
