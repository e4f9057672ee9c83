# One static library per folder of userspace/, and the order between them
# enforced by the build. Each library sees only the headers of the folders
# it may use: its include path is not userspace/ but, per folder, a
# directory of the build tree holding one link to that folder
# (build/layers/FOLDER/FOLDER -> userspace/FOLDER). A library's include
# directories reach the libraries that link it, so a folder sees exactly
# itself and what it depends on, directly or not: an include of a folder
# above it is "No such file", and a call into one is an undefined symbol.
#
# The order (docs/layout.md):
#
#   util  <-  config, net, notify  <-  dataplane, check, vrrp, announce  <-  ctl  <-  daemon
#   cli (lbctl): util and the control protocol (ctl/protocol.h) only
#
# bpf/ (lbd_abi.h and the programs' headers) is lbd_abi, for the libraries
# that speak to the programs; util never does.

set(LBD_LAYERS_DIR ${CMAKE_BINARY_DIR}/layers)

# lbd_layer(FOLDER [EXCLUDE file...] [PUBLIC lib...] [PRIVATE lib...]):
# library lbd_FOLDER from userspace/FOLDER/*.cpp (less EXCLUDE).
function(lbd_layer folder)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "EXCLUDE;PUBLIC;PRIVATE")
  set(farm ${LBD_LAYERS_DIR}/${folder})
  file(MAKE_DIRECTORY ${farm})
  file(CREATE_LINK ${CMAKE_SOURCE_DIR}/userspace/${folder} ${farm}/${folder} SYMBOLIC)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/userspace/${folder}/*.cpp)
  foreach(excluded IN LISTS arg_EXCLUDE)
    list(REMOVE_ITEM sources ${CMAKE_SOURCE_DIR}/userspace/${folder}/${excluded})
  endforeach()
  add_library(lbd_${folder} STATIC ${sources})
  target_include_directories(lbd_${folder} PUBLIC ${farm})
  target_link_libraries(lbd_${folder} PUBLIC ${arg_PUBLIC} PRIVATE ${arg_PRIVATE})
endfunction()

# lbd_layer_headers(NAME FOLDER header...): an interface library that gives
# only these headers of FOLDER (the control protocol for lbctl).
function(lbd_layer_headers name folder)
  set(farm ${LBD_LAYERS_DIR}/${name}/${folder})
  file(MAKE_DIRECTORY ${farm})
  foreach(header IN LISTS ARGN)
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/userspace/${folder}/${header} ${farm}/${header} SYMBOLIC)
  endforeach()
  add_library(lbd_${name} INTERFACE)
  target_include_directories(lbd_${name} INTERFACE ${LBD_LAYERS_DIR}/${name})
endfunction()
