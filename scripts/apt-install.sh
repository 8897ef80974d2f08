# Sourced by the install scripts: apt_install PACKAGE... installs the Debian packages given (none:
# nothing to do); it needs root.
apt_install() {
  if [ $# -eq 0 ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then echo "Missing $*: run this script as root (sudo) to install them" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  echo "Installed: $*"
}
