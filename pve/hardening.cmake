# Hardening for a program that runs as root (breakglass-pve) or holds the
# keys to it (the daemon): pve/CMakeLists.txt uses it when the forced
# command builds alone, the project's top CMakeLists.txt for both programs.
# Each flag only where the compiler has it (-fcf-protection is x86's).
include(CheckCCompilerFlag)
foreach(flag -fstack-protector-strong -fstack-clash-protection -fcf-protection)
  string(MAKE_C_IDENTIFIER "PVE_CC_HAS${flag}" has_flag)
  check_c_compiler_flag(${flag} ${has_flag})
  if(${has_flag})
    add_compile_options(${flag})
  endif()
endforeach()
# glibc's checked string and I/O calls; they need the optimizer, so not
# in a Debug build. -U first: some compilers define it already.
add_compile_options("$<$<NOT:$<CONFIG:Debug>>:-U_FORTIFY_SOURCE;-D_FORTIFY_SOURCE=2>")
add_link_options(-Wl,-z,relro,-z,now -Wl,-z,noexecstack)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
include(CheckPIESupported)
check_pie_supported()
