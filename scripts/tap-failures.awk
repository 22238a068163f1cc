# Prints each failed test of a node:test TAP file with its diagnostics (error, expected, actual,
# the first lines of the stack), leaving out suites that failed only through a subtest.
# Used by scripts/test.sh so that a failure's cause reaches the end of CI's output.
#   awk -f scripts/tap-failures.awk results.tap
function flush() {
  if (block != "" && !suite) printf "%s", block
  block = ""; suite = 0; inblock = 0
}
/^ *not ok [0-9]+ - / { flush(); inblock = 1; lines = 0; stack = -1; block = $0 "\n"; next }
inblock && /^ *\.\.\.$/ { flush(); next }
inblock && /^ *(ok|not ok) [0-9]+ / { flush() }
inblock {
  if ($0 ~ /failureType: 'subtestsFailed'/) suite = 1
  if ($0 ~ /^ *stack: /) stack = 0
  else if (stack >= 0) { stack++; if (stack > 4) next }
  if (++lines > 40) next
  block = block $0 "\n"
}
END { flush() }
