# breakglass-pve: the forced command installed on the Proxmox host.
# It links nothing but libc (core/buf.c is libc only too), so installing it
# on the host is copying one file. Paths are relative to this file, so the
# project includes it with include(cmake/breakglass-pve.cmake).
file(GLOB BREAKGLASS_PVE_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../core/breakglass_pve*.c)
add_executable(breakglass-pve ${BREAKGLASS_PVE_SOURCES} ${CMAKE_CURRENT_LIST_DIR}/../core/buf.c)
target_include_directories(breakglass-pve PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../core)
