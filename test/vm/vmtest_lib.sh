# Shared by the VM test scripts (sourced): counting results, checks, and
# waiting on a skiff container. One line per test, "vmtest: ok NAME" or
# "vmtest: FAIL NAME: WHY"; the host test turns each into an expectation.
pass=0
fail=0
ok() { echo "vmtest: ok $1"; pass=$((pass + 1)); }
bad() { echo "vmtest: FAIL $1: $2"; fail=$((fail + 1)); }
# check NAME FILE WANT: the file holds exactly WANT
check() {
	got=$(cat "$2" 2>&1)
	if [ "$got" = "$3" ]; then ok "$1"; else bad "$1" "$2 holds '$got', want '$3'"; fi
}
# run NAME COMMAND...: the command succeeds
run() {
	name=$1
	shift
	if "$@" >/tmp/out 2>&1; then ok "$name"; else bad "$name" "$* failed: $(tr '\n' ' ' </tmp/out)"; fi
}
# line NAME OUTPUT KEY PATTERN: the line "KEY=..." of OUTPUT matches KEY=PATTERN (a glob)
line() {
	l=$(echo "$2" | grep "^$3=")
	# shellcheck disable=SC2254
	case "$l" in $3=$4) ok "$1" ;; *) bad "$1" "want $3=$4, got '$l'" ;; esac
}
status_of() { skiff state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
pid_of() { skiff state "$1" 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
wait_status() { # ID STATUS: up to 10 s
	i=0
	while [ "$(status_of "$1")" != "$2" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
}
