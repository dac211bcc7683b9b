#!/bin/bash
# The bash completion (docs/completion/ofsted-notifyctl.bash) offers every
# command `ofsted-notifyctl help` lists, every `--long` option of each
# command's usage line, the token subcommands, and the fixed values of
# --role, --remit and --state.
#   tests/completion.sh PATH/TO/ofsted-notifyctl
set -u
ctl=$1
# shellcheck source=/dev/null
. "$(dirname "$0")/../docs/completion/ofsted-notifyctl.bash"
failed=0

# What the completion offers for the words "$@", the last being the word
# under the cursor.
offers() {
	COMP_WORDS=(ofsted-notifyctl "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_ofsted_notifyctl
	printf '%s\n' "${COMPREPLY[@]}"
}

# want WORD WORDS...: the completion of WORDS... offers WORD.
want() {
	local word=$1
	shift
	if ! offers "$@" | grep -qxF -- "$word"; then
		echo "completion of '$*' does not offer '$word'" >&2
		failed=1
	fi
}

# Each command of the help, and each --option of its usage line, for each
# of its subcommands ("token create ... | token list | ...").
usage=$("$ctl" help 2>&1 | sed -n '/^commands:/,/^$/p' | sed '1d;$d')
[ -n "$usage" ] || { echo "no commands in '$ctl help'" >&2; exit 1; }
while read -r cmd rest; do
	# "token create ... | token list | ...": one line each.
	while read -r alt; do
		read -ra w <<<"$alt"
		want "$cmd" ""
		pre=("$cmd")
		if [ "$cmd" = token ]; then
			want "${w[0]}" token ""
			pre=(token "${w[0]}" NAME)
		fi
		while read -r opt; do
			want "$opt" "${pre[@]}" --
		done < <(grep -oE -- '--[a-z-]+' <<<"$alt")
	done <<<"${rest// | $cmd /$'\n'}"
done <<<"$usage"

for v in viewer school trust admin; do
	want "$v" token create bot --role ""
done
for v in school further_education early_years independent; do
	want "$v" plan --remit ""
done
for v in none open paused concluded; do
	want "$v" plan --state ""
done
# After --role's value, the options again.
want --school token create bot --role trust --
exit $failed
