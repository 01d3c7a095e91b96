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
# A placeholder in a reserved domain (RFC 2606): the project names no
# address. Whoever publishes the package sets theirs:
#   cmake -DCHATBATCH_DEB_MAINTAINER="Name <mail@host>" ... (docs/install.md)
set(CHATBATCH_DEB_MAINTAINER "chatbatch maintainers <chatbatch@example.org>"
  CACHE STRING "The Debian package's Maintainer (and changelog signer)")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CHATBATCH_DEB_MAINTAINER}")
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

# usr/share/doc/chatbatch/changelog.gz, the package's changelog Debian
# policy wants in every package (changelog.gz, not changelog.Debian.gz: the
# package is native, its version has no Debian revision). One entry for
# PROJECT_VERSION, written at configure time so it cannot name another
# version, gzipped like the man pages (`gzip -9n`). Its date honours
# SOURCE_DATE_EPOCH (for a reproducible package), else it is the configure
# time. Only the package gets it, through CPack's staging install: a Debian
# changelog means nothing in a `cmake --install` prefix. (The copyright file
# is installed by the install rules, cmake/install.cmake.)
string(TIMESTAMP CHATBATCH_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(CHATBATCH_DEB_DIR ${CMAKE_BINARY_DIR}/debian)
configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in
  ${CHATBATCH_DEB_DIR}/changelog @ONLY)
add_custom_command(
  OUTPUT ${CHATBATCH_DEB_DIR}/changelog.gz
  COMMAND gzip -9nkf ${CHATBATCH_DEB_DIR}/changelog
  DEPENDS ${CHATBATCH_DEB_DIR}/changelog
  COMMENT "Gzipping the Debian changelog"
  VERBATIM)
add_custom_target(deb_changelog ALL DEPENDS ${CHATBATCH_DEB_DIR}/changelog.gz)
# CPack runs CPACK_INSTALL_SCRIPTS in its staging install only, never
# `cmake --install`.
configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/install_changelog.cmake.in
  ${CHATBATCH_DEB_DIR}/install_changelog.cmake @ONLY)
set(CPACK_INSTALL_SCRIPTS ${CHATBATCH_DEB_DIR}/install_changelog.cmake)

# What scripts/package.sh builds before CPack: the installed files only.
add_custom_target(package_contents)
add_dependencies(package_contents chatbatch chatbatch-mock deb_changelog)
if(TARGET man_and_completions)
  add_dependencies(package_contents man_and_completions)
endif()

include(CPack)
