# Reading mailaudit's text report in bash tests. Source it after tap.sh;
# the functions read the report from $REPORT.
#
#   finding CODE         that finding's block, whitespace collapsed ("" if absent)
#   evidence_count CODE  number of "- " evidence lines in that finding

finding() {
	printf '%s\n' "$REPORT" | awk -v c="$1" '
		$0 ~ "^[A-Z]+  " c "$" { p = 1; print; next }
		p && /^[^ ]/ { exit }
		p' | tr -s ' \n' '  '
}

evidence_count() {
	printf '%s\n' "$REPORT" | awk -v c="$1" '
		$0 ~ "^[A-Z]+  " c "$" { p = 1; next }
		p && /^[^ ]/ { exit }
		p && /^  [A-Z]/ { ev = ($0 == "  Evidence:"); next }
		p && ev && /^    - / { n++ }
		END { print n + 0 }'
}
