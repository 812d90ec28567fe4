#!/usr/bin/env bash
# Builds and runs one libFuzzer target.
#
#   Fuzz/run.sh TARGET SECONDS
#
# TARGET is the name of a Fuzz/TARGET.swift file that defines LLVMFuzzerTestOneInput. The Sources/
# modules it imports are compiled one by one, in dependency order, with the same sanitizers, into
# Fuzz/out/TARGET/, then linked with the fuzz file. The run keeps its corpus in Fuzz/corpus-TARGET
# (gitignored) and also reads the checked-in seeds in Fuzz/seeds/TARGET/. Findings (crash-*, leak-*,
# timeout-*) are written to Fuzz/out/TARGET/.
set -euo pipefail

usage() {
    echo "usage: Fuzz/run.sh TARGET SECONDS" >&2
    echo "targets: WebSocketFrameFuzz HTTPRequestFuzz HTTPResponseFuzz JSONFuzz EngineIOFuzz SocketIOFuzz OpenAIFuzz CoachingFuzz TLS13RecordFuzz" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
target=$1
seconds=$2
[[ $seconds =~ ^[0-9]+$ ]] || usage

cd "$(dirname "$0")/.."

# One case per target: the modules it needs, dependencies first.
case "$target" in
    WebSocketFrameFuzz) modules=(IOCore WebSocketCore) ;;
    HTTPRequestFuzz | HTTPResponseFuzz)
        modules=(IOCore HTTPCore)
        support=(Fuzz/HTTPFuzzSupport.swift)  # the feeding and the checks both targets share
        ;;
    JSONFuzz) modules=(IOCore JSON) ;;
    EngineIOFuzz) modules=(IOCore EngineIOCore) ;;
    SocketIOFuzz) modules=(IOCore JSON SocketIOCore) ;;
    # The OpenAI client's parsers, without its networking: those files form one module, built with
    # -enable-testing so the fuzz file can reach the internal parsers.
    OpenAIFuzz)
        modules=(IOCore HTTPCore JSON)
        partial_name=OpenAIPure
        partial_files=(OpenAIError SSEParser RateLimits RetryPolicy Usage ChatCompletion)
        partial_dir=OpenAI
        ;;
    # The copilot's parsers of client events, streamed answers and playbooks, without the conversation
    # code that logs through swift-log (which this script cannot build): the files they need form one module.
    CoachingFuzz)
        modules=(IOCore JSON)
        partial_name=CoachingPure
        partial_files=(CoachingError Model Coach ClientEvents PartialJSON TextMatching Playbook DefaultPlaybook)
        partial_dir=Coaching
        ;;
    # The user-space TLS 1.3 record layer (keys, AEAD, records) without sockets or the OpenSSL session
    # code: those files form one module over the COpenSSL module map (which links libssl and libcrypto).
    TLS13RecordFuzz)
        modules=(IOCore)
        partial_name=TLS13Pure
        partial_files=(TLSError TLS13KeySchedule TLS13AEAD TLS13RecordLayer)
        partial_dir=IOTLS
        extra_flags=(-I Sources/COpenSSL)
        ;;
    *) usage ;;
esac

out="Fuzz/out/$target"
corpus="Fuzz/corpus-$target"
seeds="Fuzz/seeds/$target"
mkdir -p "$out" "$corpus"

# The package's language mode and upcoming features, so that the code compiles as in `swift build`.
flags=(
    -sanitize=fuzzer,address -parse-as-library -O -g
    -swift-version 6
    -enable-upcoming-feature ExistentialAny
    -enable-upcoming-feature InternalImportsByDefault
    -enable-upcoming-feature MemberImportVisibility
    -I "$out"
    -use-ld=lld  # gold warns about every ASan symbol it cannot export; lld links cleanly
    ${extra_flags[@]+"${extra_flags[@]}"}
)

objects=()
for module in "${modules[@]}"; do
    echo "compiling $module" >&2
    swiftc "${flags[@]}" -module-name "$module" -wmo -c \
        -emit-module -emit-module-path "$out/$module.swiftmodule" \
        -o "$out/$module.o" Sources/"$module"/*.swift
    objects+=("$out/$module.o")
done
main="Fuzz/$target.swift"
if [[ -n ${partial_name:-} ]]; then
    echo "compiling $partial_name" >&2
    swiftc "${flags[@]}" -enable-testing -module-name "$partial_name" -wmo -c \
        -emit-module -emit-module-path "$out/$partial_name.swiftmodule" \
        -o "$out/$partial_name.o" $(printf "Sources/$partial_dir/%s.swift " "${partial_files[@]}")
    objects+=("$out/$partial_name.o")
fi
echo "linking $target" >&2
swiftc "${flags[@]}" -module-name "${target}Main" "$main" ${support[@]+"${support[@]}"} "${objects[@]}" -o "$out/$target"

# A trap must reach libFuzzer's handler at once: the Swift backtracer was seen to hang for minutes
# under ASan before libFuzzer could write the crash file.
export SWIFT_BACKTRACE=enable=no

corpora=("$corpus")
[[ -d $seeds ]] && corpora+=("$seeds")
exec "$out/$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/" "${corpora[@]}"
