# Warnings and sanitizers for the project's own targets (never for third-party code).
add_library(crepe_options INTERFACE)
target_compile_options(crepe_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-unused-parameter>)
if(CREPE_WERROR)
  target_compile_options(crepe_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
# Sanitizer flags alone, also for code we generate (protoc's): a header compiled with and without
# ThreadSanitizer can lay classes out differently (protobuf's PROTOBUF_TSAN), so every translation
# unit that includes generated messages must agree.
add_library(crepe_sanitize INTERFACE)
if(CREPE_SANITIZE)
  target_compile_options(crepe_sanitize INTERFACE -fsanitize=${CREPE_SANITIZE} -fno-omit-frame-pointer
                                                  $<$<BOOL:${CREPE_FUZZ}>:-fno-sanitize-recover=undefined>)
  target_link_options(crepe_sanitize INTERFACE -fsanitize=${CREPE_SANITIZE})
endif()
target_link_libraries(crepe_options INTERFACE crepe_sanitize)
