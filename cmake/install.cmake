# `cmake --install build --prefix P` (docs/install.md): the two programs, the
# example jobs and the docs, and nothing else -- no static library, header or
# test binary (tests/package/install_test.sh checks the exact list). The
# Debian package (cmake/package.cmake) is these same rules under /usr.
include(GNUInstallDirs)

install(TARGETS chatbatch chatbatch-mock
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Only the job files: they are what `chatbatch validate` and `run` take.
file(GLOB CHATBATCH_EXAMPLE_JOBS CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/jobs/*.yaml)
install(FILES ${CHATBATCH_EXAMPLE_JOBS}
  DESTINATION ${CMAKE_INSTALL_DATADIR}/chatbatch/jobs)

# README.md beside a docs/ folder, as in the source tree, so the README's
# relative links (docs/cli.md ...) still resolve.
file(GLOB CHATBATCH_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CHATBATCH_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
# The copyright file in Debian's machine-readable format (DEP-5), where
# Debian wants it (usr/share/doc/chatbatch/copyright) and beside the README
# in any other prefix. The package adds changelog.Debian.gz
# (cmake/package.cmake).
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man pages and shell completions (issue 15) are installed by their own rules
# here, next to what generates them: share/man/man1, share/man/man5,
# share/bash-completion/completions, share/zsh/vendor-completions. Add each
# new top directory to tests/package/install_test.sh's allowed list.
