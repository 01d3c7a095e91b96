# Sourced by the scripts that need Debian packages. apt_install TAG PKG...
# installs those of PKG not installed yet (one apt-get call, sudo when not
# root) and says which on stderr, prefixed "TAG:"; installs nothing when all
# are there, so the scripts stay idempotent and quiet.
apt_install() {
  local tag="$1" p
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
      grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "$tag: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}
