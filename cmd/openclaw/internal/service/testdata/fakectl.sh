#!/bin/sh
# A stand-in for systemctl, loginctl and launchctl (linked under those names,
# first on PATH). It appends "name args..." to $FAKE_CTL_LOG and answers:
#   FAKE_CTL_FAIL     a shell pattern over "name args...": matching calls
#                     print $FAKE_CTL_FAIL_OUT on stderr and exit 1
#                     (e.g. systemctl's "Failed to connect to bus: No medium found")
#   FAKE_CTL_SHOW     what `systemctl show` prints (KEY=VALUE lines)
#   FAKE_CTL_LINGER   what `loginctl show-user --value` prints (default no)
#   FAKE_CTL_PRINT    what `launchctl print` prints; empty: exit 113 (not loaded)
name=$(basename "$0")
echo "$name $*" >> "${FAKE_CTL_LOG:-/dev/null}"
case "$name $*" in
	$FAKE_CTL_FAIL) echo "$FAKE_CTL_FAIL_OUT" >&2; exit 1 ;;
esac
case "$name $*" in
	"systemctl "*" show "*|"systemctl show "*) printf '%s\n' "$FAKE_CTL_SHOW" ;;
	"loginctl show-user "*) echo "${FAKE_CTL_LINGER:-no}" ;;
	"launchctl print "*)
		[ -n "$FAKE_CTL_PRINT" ] || { echo "Could not find service" >&2; exit 113; }
		printf '%s\n' "$FAKE_CTL_PRINT" ;;
esac
exit 0
