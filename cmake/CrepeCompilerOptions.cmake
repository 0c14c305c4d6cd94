# Warnings and sanitizers for the project's own targets (never for third-party code).
add_library(crepe_options INTERFACE)
target_compile_options(crepe_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-unused-parameter>)
if(CREPE_WERROR)
  target_compile_options(crepe_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
if(CREPE_SANITIZE)
  target_compile_options(crepe_options INTERFACE -fsanitize=${CREPE_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(crepe_options INTERFACE -fsanitize=${CREPE_SANITIZE})
endif()
