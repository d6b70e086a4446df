# Sourced by the scripts that read or write the results branch: sets $url (the results remote:
# $RESULTS_REMOTE, else this repository on GitHub) and, with $GH_TOKEN set, an http.extraheader in this
# process's environment only: no credential is written to a git config file or shown on a command line.
url=${RESULTS_REMOTE:-${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:?}.git}
if [ -n "${GH_TOKEN:-}" ]; then
  basic=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)
  echo "::add-mask::$basic"
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="http.${GITHUB_SERVER_URL:-https://github.com}/.extraheader"
  export GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $basic"
fi
