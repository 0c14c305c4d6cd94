# Machine-load accounting shared by the benchmark scripts (sourced; needs BUSY_MAX and WAIT_MAX).
# shellcheck shell=bash
NCPU=$(nproc)
HZ=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
# Per cent of the whole machine busy over one second.
busy_now() {
  local a b
  a=$(busy_jiffies); sleep 1; b=$(busy_jiffies)
  awk -v d=$((b - a)) -v hz="$HZ" -v n="$NCPU" 'BEGIN{printf "%.0f", 100 * d / hz / n}'
}
wait_quiet() {
  local waited=0 busy
  busy=$(busy_now)
  while ((busy > BUSY_MAX && waited < WAIT_MAX)); do
    sleep 4; waited=$((waited + 5)); busy=$(busy_now)
  done
  if ((busy > BUSY_MAX)); then
    echo "warning: machine still ${busy}% busy after ${WAIT_MAX}s; measuring anyway" >&2
  fi
  echo "$busy"
}
