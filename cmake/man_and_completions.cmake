# Man pages (chatbatch(1), chatbatch-SUB(1), chatbatch-mock(1),
# chatbatch-job(5)) and the bash and zsh completions, generated at build time
# into build/doc/ by scripts/gen-man-and-completions.py from `chatbatch
# __cli-spec` (the CLI11 definition the program parses with), `chatbatch-mock
# --help` and docs/job-file.md. Cheap: one run of each binary and a Python
# script, redone only when one of them changes. The pages are installed from
# build/doc/man-gz/, gzipped as Debian policy requires (`gzip -9n`: no name
# or time stamp); build/doc/man1 and man5 keep them readable for the test.
option(CHATBATCH_MAN_AND_COMPLETIONS
       "Generate and install the man pages and shell completions" ON)
if(NOT CHATBATCH_MAN_AND_COMPLETIONS)
  return()
endif()

find_package(Python3 REQUIRED COMPONENTS Interpreter)
include(GNUInstallDirs)

set(CHATBATCH_DOC_DIR ${CMAKE_BINARY_DIR}/doc)
set(_generator ${PROJECT_SOURCE_DIR}/scripts/gen-man-and-completions.py)
add_custom_command(
  OUTPUT ${CHATBATCH_DOC_DIR}/generated.stamp
  COMMAND ${Python3_EXECUTABLE} ${_generator} $<TARGET_FILE:chatbatch>
          $<TARGET_FILE:chatbatch-mock> ${PROJECT_SOURCE_DIR}/docs/job-file.md ${CHATBATCH_DOC_DIR}
          ${PROJECT_VERSION}
  COMMAND ${CMAKE_COMMAND} -E touch ${CHATBATCH_DOC_DIR}/generated.stamp
  DEPENDS chatbatch chatbatch-mock ${_generator} ${PROJECT_SOURCE_DIR}/docs/job-file.md
  COMMENT "Generating man pages and shell completions"
  VERBATIM)
add_custom_target(man_and_completions ALL
  DEPENDS ${CHATBATCH_DOC_DIR}/generated.stamp)

# The install rules for what is generated here, and only that (the rest of
# the install rules live elsewhere).
install(DIRECTORY ${CHATBATCH_DOC_DIR}/man-gz/man1/
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(DIRECTORY ${CHATBATCH_DOC_DIR}/man-gz/man5/
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${CHATBATCH_DOC_DIR}/completions/chatbatch
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${CHATBATCH_DOC_DIR}/completions/_chatbatch
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
