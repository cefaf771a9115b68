# SPDX-License-Identifier: MIT
# Runs one libFuzzer binary for a bounded time over a scratch copy of its
# seed corpus, so neither new inputs nor crash files ever land in the
# source tree. cmake -DFUZZER= -DCORPUS= -DWORK= -DSECONDS= -P run_fuzz.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus)
if(IS_DIRECTORY ${CORPUS})
  file(GLOB _seeds ${CORPUS}/*)
  if(_seeds)
    file(COPY ${_seeds} DESTINATION ${WORK}/corpus)
  endif()
endif()
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10
          -print_final_stats=1 -artifact_prefix=${WORK}/ ${WORK}/corpus
  WORKING_DIRECTORY ${WORK}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); inputs in ${WORK}")
endif()
