# Sourced by install_test.sh and package_test.sh. expected_files SOURCE_DIR
# prints, sorted, every file the install rules (cmake/install.cmake) put
# under the prefix: exactly these, nothing more. Man pages and completions
# add their lines here when their install rules land.
expected_files() {
  local src="$1" f
  {
    echo bin/chatbatch
    echo bin/chatbatch-mock
    for f in "$src"/jobs/*.yaml; do
      echo "share/chatbatch/jobs/$(basename "$f")"
    done
    echo share/doc/chatbatch/README.md
    for f in "$src"/docs/*.md; do
      echo "share/doc/chatbatch/docs/$(basename "$f")"
    done
  } | LC_ALL=C sort
}
