# shellcheck shell=bash
# What hack/deps.sh, hack/e2e-base.sh and hack/validators.sh share when they
# call apt.

# apt_update [APT-GET OPTIONS...]: `apt-get OPTIONS update`, tried up to four
# times. A Debian mirror answers "File has unexpected size ... Mirror sync in
# progress?" for a few minutes while it syncs, and apt-get update then fails
# with 100; a later try reads a consistent mirror. The delays are 15, 30 and
# 60 seconds, so a lasting failure still ends within two minutes, with apt's
# own message.
apt_update() {
  local try delay=15
  for try in 1 2 3 4; do
    if apt-get "$@" -q update; then
      return 0
    fi
    if [ "$try" -eq 4 ]; then
      break
    fi
    echo "apt-get update failed (try $try of 4); trying again in ${delay}s" >&2
    sleep "$delay"
    delay=$((delay * 2))
  done
  echo "apt-get update failed 4 times" >&2
  return 1
}
