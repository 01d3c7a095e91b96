# Sourced by install_test.sh and package_test.sh. expected_files SOURCE_DIR
# prints, sorted, every file the install rules (cmake/install.cmake) put
# under the prefix: exactly these, nothing more (the man pages, gzipped, and
# completions are cmake/man_and_completions.cmake's). The Debian package adds
# share/doc/chatbatch/changelog.gz (package_test.sh).
expected_files() {
  local src="$1" f
  {
    echo bin/chatbatch
    echo bin/chatbatch-mock
    for f in "$src"/jobs/*.yaml; do
      echo "share/chatbatch/jobs/$(basename "$f")"
    done
    for f in chatbatch chatbatch-run chatbatch-validate chatbatch-merge \
      chatbatch-compare chatbatch-report chatbatch-export chatbatch-cache \
      chatbatch-mock; do
      echo "share/man/man1/$f.1.gz"
    done
    echo share/man/man5/chatbatch-job.5.gz
    echo share/bash-completion/completions/chatbatch
    echo share/zsh/vendor-completions/_chatbatch
    echo share/doc/chatbatch/README.md
    echo share/doc/chatbatch/copyright
    for f in "$src"/docs/*.md; do
      echo "share/doc/chatbatch/docs/$(basename "$f")"
    done
  } | LC_ALL=C sort
}
