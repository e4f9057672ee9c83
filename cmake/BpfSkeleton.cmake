# BPF programs are built inside the build graph: clang -> NAME.bpf.o ->
# bpftool gen skeleton -> NAME.skel.h, which embeds the object, so nothing is
# loaded from a path at run time. Target bpf_skel_NAME carries the include path.
find_program(LBD_CLANG NAMES clang-14 clang REQUIRED)
find_program(LBD_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
execute_process(COMMAND uname -m OUTPUT_VARIABLE LBD_ARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
set(LBD_MULTIARCH_INCLUDE /usr/include/${LBD_ARCH}-linux-gnu)

file(GLOB LBD_BPF_HEADERS ${CMAKE_SOURCE_DIR}/bpf/*.h ${CMAKE_SOURCE_DIR}/bpf/lib/*.h)

# lbd_bpf_skeleton(NAME [DIR dir]): builds DIR/NAME.bpf.c (DIR defaults to
# bpf/, relative to the source root unless absolute; its headers are
# dependencies and on the include path too).
function(lbd_bpf_skeleton name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DIR" "")
  if(NOT arg_DIR)
    set(arg_DIR bpf)
  endif()
  cmake_path(ABSOLUTE_PATH arg_DIR BASE_DIRECTORY ${CMAKE_SOURCE_DIR} NORMALIZE
             OUTPUT_VARIABLE dir)
  string(REGEX REPLACE "/$" "" dir "${dir}")
  set(src ${dir}/${name}.bpf.c)
  file(GLOB dir_headers ${dir}/*.h)
  set(out ${CMAKE_BINARY_DIR}/bpf)
  set(obj ${out}/${name}.bpf.o)
  set(skel ${out}/${name}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${LBD_CLANG} -g -O2 -target bpf -Wall -Werror
            -I${dir} -I${CMAKE_SOURCE_DIR}/bpf -I${LBD_MULTIARCH_INCLUDE}
            -c ${src} -o ${obj}
    DEPENDS ${src} ${LBD_BPF_HEADERS} ${dir_headers}
    COMMENT "BPF ${name}.bpf.c"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${LBD_BPFTOOL} gen skeleton ${obj} name lbd_${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(bpf_skel_${name}_gen DEPENDS ${skel})
  add_library(bpf_skel_${name} INTERFACE)
  target_include_directories(bpf_skel_${name} INTERFACE ${out} ${dir} ${CMAKE_SOURCE_DIR}/bpf)
  add_dependencies(bpf_skel_${name} bpf_skel_${name}_gen)
endfunction()
