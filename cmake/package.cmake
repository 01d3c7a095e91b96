# The Debian package: `scripts/package.sh` runs CPack with these settings on
# a Release build (docs/install.md). Its contents are the install rules
# (cmake/install.cmake) under /usr; its Depends are computed by
# dpkg-shlibdeps from the shared libraries the programs actually link.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME chatbatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR chatbatch)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "batch runner for multi-turn chat conversations over streaming APIs")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# The programs are Release builds; their symbols are no use to a user.
set(CPACK_STRIP_FILES ON)

# chatbatch_<version>_amd64.deb: Debian's own file name convention.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "chatbatch maintainers <chatbatch@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The extended description, below the synopsis (the summary above); CPack
# indents its lines and writes an empty one as " .".
set(CPACK_PACKAGE_DESCRIPTION
"chatbatch reads a YAML job file of conversations and runs them against an
OpenAI-compatible streaming chat server (g4f, llama.cpp, vLLM, Ollama, ...),
many at once over one libcurl multi handle. Every finished turn is written
to the run directory before the next is sent, so runs resume after a crash.

It checks replies against expectations, compares runs, writes JUnit and
HTML reports, replays a response cache, load-tests a server against SLOs,
and splits one job into shards for Slurm, Kubernetes or GitHub Actions.
chatbatch-mock, the bundled test server, is included.")

include(CPack)
